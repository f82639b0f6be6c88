"""The `kemala audit` subcommands: argument handling and output; the work is in the sibling modules."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

import duckdb
from botocore.exceptions import ClientError
from kemala import aws
from kemala.audit_export import (
    DEFAULT_PREFIX,
    ExporterSettings,
    ExportFailed,
    TableExports,
    start_daily_export,
    wait_for_export,
)
from kemala.ids import parse_iso, utc_now

from kemala_cli.audit.dynamo_json import ExportFormatError
from kemala_cli.audit.load import load_export
from kemala_cli.audit.report import default_now, write_report
from kemala_cli.audit.source import locate
from kemala_cli.audit.verify import verify as verify_db
from kemala_cli.errors import CliError

# --- export ---------------------------------------------------------------------------------------------


def _local_stack(state_dir: str | None) -> dict[str, Any]:
    """The local stack's local.json, and its endpoint/region put in the environment for boto3."""
    path = Path(state_dir or ".kemala") / "local.json"
    if not path.exists():
        if state_dir:
            raise CliError(f"{path}: not found (is `kemala local up` running with --state-dir {state_dir}?)")
        return {}
    info = dict(json.loads(path.read_text(encoding="utf-8")))
    os.environ.setdefault("AWS_ENDPOINT_URL", info["aws_endpoint_url"])
    os.environ.setdefault("AWS_DEFAULT_REGION", info.get("region", "ap-southeast-3"))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(var, "local")  # moto accepts any credentials
    aws.client.cache_clear()
    print(f"using the local stack at {info['aws_endpoint_url']} ({path})", file=sys.stderr)
    return info


def _bucket_kms_key(bucket: str) -> str | None:
    """The bucket's default SSE-KMS key, so an on-demand export is encrypted like the daily one."""
    try:
        rules = aws.client("s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    except Exception:  # no encryption configured, or no right to read it: DynamoDB's default applies
        return None
    for rule in rules.get("Rules", []):
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
            return str(default["KMSMasterKeyID"])
    return None


def _table_arn(table: str) -> str:
    if table.startswith("arn:"):
        return table
    try:
        return str(aws.client("dynamodb").describe_table(TableName=table)["Table"]["TableArn"])
    except Exception as exc:
        raise CliError(f"cannot find table {table}: {exc}") from None


def export(args: argparse.Namespace) -> int:
    local: dict[str, Any] = {}
    if args.state_dir or not (args.table or os.environ.get("TICKETS_TABLE")):
        local = _local_stack(args.state_dir)
    table = args.table or os.environ.get("TICKETS_TABLE") or local.get("tables", {}).get("TicketsTable")
    bucket = args.bucket or os.environ.get("AUDIT_BUCKET") or local.get("buckets", {}).get("AuditBucket")
    if not table or not bucket:
        raise CliError(
            "say which table and bucket: --table/--bucket, $TICKETS_TABLE/$AUDIT_BUCKET, or a local stack"
        )
    settings = ExporterSettings(
        tickets_table=table,
        tickets_table_arn=_table_arn(table),
        audit_bucket=bucket,
        audit_kms_key_arn=args.kms_key or os.environ.get("AUDIT_KMS_KEY_ARN") or _bucket_kms_key(bucket),
        audit_export_prefix=args.prefix or os.environ.get("AUDIT_EXPORT_PREFIX") or DEFAULT_PREFIX,
    )
    exports = TableExports(settings.tickets_table_arn)
    try:
        outcome = start_daily_export(settings, utc_now(), exports)
        verb = "started" if outcome.started else f"already {outcome.export.status.lower()} today"
        print(f"export {verb}: {outcome.export.export_arn}", file=sys.stderr)
        info = outcome.export
        if args.wait:
            info = wait_for_export(exports, info.export_arn, args.timeout)
            print(f"export completed: {info.item_count} items", file=sys.stderr)
    except ExportFailed as exc:
        raise CliError(str(exc)) from None
    except ClientError as exc:
        raise CliError(f"AWS refused the export: {exc}") from None
    print(info.s3_url)
    return 0


# --- load / query ---------------------------------------------------------------------------------------


def _connect(db: str, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    if not Path(db).exists():
        raise CliError(f"{db}: no such database; run `kemala audit load SRC --db {db}` first")
    con = duckdb.connect(db, read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    return con


def load(args: argparse.Namespace) -> int:
    try:
        found = locate(args.src, args.export_id)
        counts = load_export(found, Path(args.db), with_text=args.with_text)
    except ExportFormatError as exc:
        raise CliError(str(exc)) from None
    checked = "manifest checked" if found.layout == "aws" else "no manifest: completeness not checked"
    print(f"export {found.export_id} ({found.layout} layout, {checked}) from {found.location}")
    print("loaded " + ", ".join(f"{n} {t}" for t, n in counts.items()) + f" into {args.db}")
    return 0


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def query(args: argparse.Namespace) -> int:
    con = _connect(args.db)
    try:
        cur = con.execute(args.sql)
    except duckdb.Error as exc:
        raise CliError(f"query failed: {exc}") from None
    columns = [d[0] for d in cur.description or []]
    rows = [tuple(_plain(v) for v in r) for r in cur.fetchall()]
    if args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif args.format == "json":
        for r in rows:
            print(json.dumps(dict(zip(columns, r, strict=True)), ensure_ascii=False, default=str))
    else:
        cells = [columns, *[["" if v is None else str(v) for v in r] for r in rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
        for n, row in enumerate(cells):
            print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
            if n == 0:
                print("  ".join("-" * w for w in widths))
        print(f"({len(rows)} rows)", file=sys.stderr)
    return 0


# --- verify / report ------------------------------------------------------------------------------------


def verify(args: argparse.Namespace) -> int:
    con = _connect(args.db)
    layout = con.execute("SELECT layout, location FROM export_info").fetchone()
    result = verify_db(con)
    for failure in result.failures:
        print(failure)
    if layout and layout[0] != "aws":
        print(f"note: {layout[1]} has no manifest, so missing data files cannot be detected", file=sys.stderr)
    print(
        f"verified {result.tickets} tickets and {result.events} events: "
        f"{len(result.failures)} failed, {result.intact} intact"
    )
    return 1 if result.failures else 0


def report(args: argparse.Namespace) -> int:
    con = _connect(args.db)
    if args.now:
        try:
            now = parse_iso(args.now).isoformat()
        except ValueError:
            raise CliError(f"--now {args.now!r} is not an ISO 8601 time") from None
    else:
        try:
            now = default_now(con)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    out = Path(args.out)
    results = write_report(con, out, now, Path(args.csv_dir) if args.csv_dir else None)
    print(
        f"wrote {out} ({len(results)} figures as of {now})"
        + (f" and CSVs in {args.csv_dir}" if args.csv_dir else "")
    )
    return 0


# --- labels ---------------------------------------------------------------------------------------------

# The triage team's last routing decision per ticket (a delegation or a reassignment by an operator),
# with the ticket's category as it stands after that decision: the operator either confirmed the
# router's category or corrected it (`category` in the delegate/reassign body).
_LABELS_SQL = """
SELECT t.id, t.text, t.category, t.agency_id, d.type
FROM tickets t
JOIN (
    SELECT ticket_id, type, row_number() OVER (PARTITION BY ticket_id ORDER BY seq DESC) AS latest
    FROM ticket_events
    WHERE actor_kind = 'operator' AND type IN ('ticket.delegated', 'ticket.reassigned')
) d ON d.ticket_id = t.id AND d.latest = 1
WHERE t.text IS NOT NULL AND t.category IS NOT NULL
ORDER BY t.id
"""


def labels(args: argparse.Namespace) -> int:
    """Operators' decisions as labelled examples for `kemala routing train` (JSON lines)."""
    con = _connect(args.db)
    columns = {r[0] for r in con.execute("DESCRIBE tickets").fetchall()}
    if "text" not in columns:
        raise CliError("labels need the citizens' text: load the export again with --with-text")
    rows = con.execute(_LABELS_SQL).fetchall()
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    try:
        for ticket_id, text, category, agency_id, decided_by in rows:
            example = {"id": ticket_id, "text": text, "category": category, "agency": agency_id}
            print(json.dumps({**example, "source": f"operator {decided_by}"}, ensure_ascii=False), file=out)
    finally:
        if args.out:
            out.close()
    print(f"{len(rows)} labelled example(s) from operators' decisions", file=sys.stderr)
    return 0
