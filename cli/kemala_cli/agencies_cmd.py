"""`kemala agencies apply|validate|list`: onboard agencies from a registry file (docs/agencies.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from kemala_cli.errors import CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("agencies", help="onboard agencies: records in DirectoryTable, SQS queues")
    sub = parser.add_subparsers(dest="agencies_command", required=True, metavar="ACTION")

    apply_p = sub.add_parser("apply", help="validate FILE, then create or update agencies and their queues")
    apply_p.add_argument("file", metavar="FILE", help="registry file, e.g. config/agencies.yaml")
    directory_table_argument(apply_p)
    apply_p.set_defaults(func=run_apply)

    validate_p = sub.add_parser("validate", help="only check FILE; print every problem")
    validate_p.add_argument("file", metavar="FILE")
    validate_p.set_defaults(func=run_validate)

    list_p = sub.add_parser("list", help="the agencies in DirectoryTable")
    directory_table_argument(list_p)
    list_p.add_argument("--json", action="store_true", help="one JSON object per line")
    list_p.set_defaults(func=run_list)


def directory_table_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--directory-table",
        default=os.environ.get("DIRECTORY_TABLE"),
        help="DirectoryTable name (default: $DIRECTORY_TABLE; the stack's DirectoryTableName output)",
    )


def directory_table(args: argparse.Namespace) -> str:
    if not args.directory_table:
        raise CliError(
            "no directory table: pass --directory-table or set DIRECTORY_TABLE "
            "(the stack's DirectoryTableName output)"
        )
    return str(args.directory_table)


def _checked(path: str) -> list[Any]:
    """The file's agencies, or a CliError after printing every problem (nothing is written)."""
    from kemala.routing.registry import read_agency_file

    from kemala_cli.agency_onboarding import Codes, validate

    try:
        entries = read_agency_file(path)
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:  # a YAML syntax error: its message carries line and column
        raise CliError(f"{path}: not valid YAML: {exc}") from None
    agencies, problems = validate(entries, Codes.load())
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if problems:
        raise CliError(f"{path}: {len(problems)} problem(s); nothing was written")
    return agencies


def run_validate(args: argparse.Namespace) -> int:
    agencies = _checked(args.file)
    print(f"{args.file}: {len(agencies)} agencies, no problems")
    return 0


def run_apply(args: argparse.Namespace) -> int:
    from kemala import aws
    from kemala.ids import iso, utc_now
    from kemala.store.agencies import AgencyStore
    from kemala.store.dynamo import AWS_ERRORS

    from kemala_cli.agency_onboarding import AgencyQueues, ApplyRefused, apply

    agencies = _checked(args.file)
    store = AgencyStore(directory_table(args))
    try:
        report = apply(agencies, store, AgencyQueues(aws.client("sqs")), lambda: iso(utc_now()))
    except ApplyRefused as exc:
        raise CliError(f"{args.file}: {exc}; nothing was written") from None
    except AWS_ERRORS as exc:
        raise CliError(f"AWS refused: {exc}") from None
    except RuntimeError as exc:  # StorageUnavailable
        raise CliError(str(exc)) from None
    for change in report.agencies:
        print(change)
    for line in report.directory:
        print(line)
    if report.not_in_file:
        print(
            f"in the directory but not in {args.file} (kept; set active: false to stop routing to them): "
            + ", ".join(report.not_in_file)
        )
    if report.owned_queue_arns:
        print(
            "agency-owned queues: the router may send only to ARNs in the stack parameter "
            "AgencyOwnedQueueArns: " + ",".join(report.owned_queue_arns)
        )
    print(f"{args.file}: {report.summary()}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from kemala.store.agencies import AgencyStore

    try:
        agencies = AgencyStore(directory_table(args)).list_all()
    except RuntimeError as exc:
        raise CliError(str(exc)) from None
    for agency in agencies:
        if args.json:
            print(json.dumps(agency.model_dump(mode="json", exclude_none=True), ensure_ascii=False))
            continue
        queue = "agency-owned queue" if agency.queue_owned_by_agency else "kemala queue"
        state = "" if agency.active else " [inactive]"
        print(
            f"{agency.id:32} {agency.level.value:8} {agency.region:16} "
            f"{','.join(agency.categories):24} sla {agency.sla_hours}h  {queue}{state}"
        )
    if not args.json:
        print(f"{len(agencies)} agencies")
    return 0
