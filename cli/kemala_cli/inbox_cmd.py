"""`kemala inbox --agency ID`: what an agency's integration looks like, as a small working consumer.

It long-polls the agency's SQS queue, validates each message against the published JSON Schema
(docs/schemas/; until those exist, against the pydantic Envelope they are generated from), prints it
readably, and deletes it only once it has been handled. A message that does not validate is reported and
left on the queue: it returns after the visibility timeout and, after the queue's maxReceiveCount,
lands in the agency's dead-letter queue, where it can be inspected. A consumer must never destroy what
it cannot understand. Exit status with --once: 0, or 1 when any message was invalid.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kemala_cli.cfn import PROJECT_ROOT
from kemala_cli.errors import CliError

SCHEMAS_DIR = PROJECT_ROOT / "docs" / "schemas"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "inbox",
        help="consume an agency's queue: validate, print, delete (an agency integration example)",
        description="Long-poll an agency's SQS queue, validate each message against its JSON Schema, print "
        "it, and delete it once handled. Invalid messages are left for the agency's DLQ.",
    )
    p.add_argument("--agency", required=True, help="agency id (as in config/agencies.yaml)")
    p.add_argument(
        "--state-dir", type=Path, default=Path(".kemala"), help="where `kemala local up` wrote local.json"
    )
    p.add_argument(
        "--queue-url", help="the queue to read (default: the agency's, from local.json or DirectoryTable)"
    )
    p.add_argument("--once", action="store_true", help="drain what is there now, then exit")
    p.add_argument("--max", type=int, default=0, help="stop after N messages (0: no limit)")
    p.add_argument("--json", action="store_true", help="print each message as one JSON line")
    p.set_defaults(func=run)


def _local_state(state_dir: Path) -> dict[str, Any] | None:
    path = state_dir / "local.json"
    if not path.exists():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    os.environ.setdefault("AWS_ENDPOINT_URL", state["aws_endpoint_url"])
    os.environ.setdefault("AWS_DEFAULT_REGION", state["region"])
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    return dict(state)


def _queue_url(args: argparse.Namespace, state: dict[str, Any] | None) -> str:
    if args.queue_url:
        return str(args.queue_url)
    if state is not None:
        url = (state.get("agency_queues") or {}).get(args.agency)
        if url:
            return str(url)
        if args.agency not in (state.get("agency_queues") or {}):
            known = ", ".join(sorted(state.get("agency_queues") or {})[:5])
            raise CliError(f"unknown agency {args.agency!r} in the local stack (e.g. {known})")
    table = os.environ.get("DIRECTORY_TABLE") or (state or {}).get("tables", {}).get("DirectoryTable")
    if not table:
        raise CliError("no local stack (run `kemala local up`) and no DIRECTORY_TABLE: give --queue-url")
    from kemala.store.agencies import AgencyStore

    agency = AgencyStore(table).get(args.agency)
    if agency is None or not agency.queue_url:
        raise CliError(f"agency {args.agency!r} has no queue in {table}")
    return str(agency.queue_url)


def message_validator() -> tuple[str, Callable[[dict[str, Any]], None]]:
    """(what validates, a function raising ValueError naming the problem). Each message is checked
    against its type's schema (docs/schemas/<type>.json), else the envelope's."""
    envelope = SCHEMAS_DIR / "envelope.json"
    if envelope.exists():
        import jsonschema

        validators: dict[str, Any] = {}

        def validator_for(message_type: object) -> Any:
            path = SCHEMAS_DIR / f"{message_type}.json"
            if not (isinstance(message_type, str) and path.parent == SCHEMAS_DIR and path.exists()):
                path = envelope
            if path not in validators:
                schema = json.loads(path.read_text(encoding="utf-8"))
                validators[path] = jsonschema.Draft202012Validator(schema)
            return validators[path]

        def check_schema(doc: dict[str, Any]) -> None:
            error = jsonschema.exceptions.best_match(validator_for(doc.get("type")).iter_errors(doc))
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                raise ValueError(f"{where}: {error.message}")

        return str(SCHEMAS_DIR.relative_to(PROJECT_ROOT)) + "/<type>.json", check_schema
    from kemala.models.messages import Envelope
    from pydantic import ValidationError

    def check_model(doc: dict[str, Any]) -> None:
        try:
            Envelope.model_validate(doc)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ValueError(f"{'/'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}") from None

    return "kemala.models.messages.Envelope", check_model


def describe(doc: dict[str, Any]) -> str:
    """One readable block for a message."""
    ticket = doc.get("ticket") or {}
    text = " ".join(str(ticket.get("text") or "(text withdrawn)").split())
    excerpt = text if len(text) <= 100 else text[:99] + "…"
    head = (
        f"{doc.get('type', '?'):<22} {ticket.get('ref', '?'):<14} {ticket.get('status', '?'):<10} "
        f"{ticket.get('category') or '-':<16} {ticket.get('region') or '-'}"
    )
    lines = [head, f"    “{excerpt}”"]
    detail = doc.get("detail") or {}
    if detail.get("followup_text"):
        lines.append(f"    follow-up: “{' '.join(str(detail['followup_text']).split())[:100]}”")
    if doc.get("type") == "reply.failed" and detail:
        lines.append(f"    reply failed: {detail.get('error') or detail}")
    lines.append(
        f"    ticket {ticket.get('id', '?')}  due {ticket.get('due_at') or '-'}  message {doc.get('id', '?')}"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.max < 0:
        raise CliError("--max must be 0 or more")
    state = _local_state(args.state_dir)
    queue_url = _queue_url(args, state)
    from kemala import aws

    sqs = aws.client("sqs")
    source, validate = message_validator()
    print(f"inbox {args.agency}: {queue_url} (validating with {source}; Ctrl-C to stop)", file=sys.stderr)
    handled = invalid = 0
    try:
        while not args.max or handled < args.max:
            resp = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10 if not args.max else min(10, args.max - handled),
                WaitTimeSeconds=1 if args.once else 20,
                AttributeNames=["ApproximateReceiveCount"],
                MessageAttributeNames=["All"],
            )
            messages = resp.get("Messages", [])
            if not messages and args.once:
                break
            for message in messages:
                receipt, receives = (
                    message["ReceiptHandle"],
                    message.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
                )
                try:
                    doc = json.loads(message["Body"])
                    if not isinstance(doc, dict):
                        raise ValueError("(root): not a JSON object")
                    validate(doc)
                except ValueError as exc:
                    invalid += 1
                    print(
                        f"INVALID message {message['MessageId']} (receive {receives}): {exc}; "
                        "left on the queue "
                        "for the agency DLQ",
                        file=sys.stderr,
                    )
                    continue
                print(json.dumps(doc, ensure_ascii=False) if args.json else describe(doc), flush=True)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)  # handled: now it may go
                handled += 1
    except KeyboardInterrupt:
        pass
    print(f"inbox {args.agency}: {handled} handled, {invalid} invalid (left on the queue)", file=sys.stderr)
    return 1 if invalid and args.once else 0
