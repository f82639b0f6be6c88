"""`kemala audit`: take, load, query, verify and report on DynamoDB exports of TicketsTable (DuckDB)."""

from __future__ import annotations

import argparse
from typing import Any

DEFAULT_DB = "audit.duckdb"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit", help="auditors: DynamoDB exports queried with DuckDB", description=__doc__
    )
    sub = parser.add_subparsers(dest="audit_command", required=True, metavar="SUBCOMMAND")

    export = sub.add_parser("export", help="start today's export of TicketsTable (as the daily job does)")
    export.add_argument("--table", help="table name or ARN (default: $TICKETS_TABLE, or the local stack's)")
    export.add_argument("--bucket", help="audit bucket (default: $AUDIT_BUCKET, or the local stack's)")
    export.add_argument("--kms-key", help="KMS key ARN (default: the bucket's default encryption key)")
    export.add_argument("--prefix", help="key prefix; the UTC date is appended (default: exports/tickets)")
    export.add_argument("--state-dir", help="the local stack's state folder (default: .kemala if present)")
    export.add_argument("--wait", action="store_true", help="wait until the export is complete")
    export.add_argument("--timeout", type=float, default=3600, help="seconds to wait (default: 3600)")
    export.set_defaults(func=_run("commands", "export"))

    load = sub.add_parser("load", help="load an export (folder or s3://bucket/prefix) into a DuckDB file")
    load.add_argument("src", metavar="SRC")
    load.add_argument("--db", default=DEFAULT_DB, help=f"DuckDB file to (re)create (default: {DEFAULT_DB})")
    load.add_argument("--export-id", help="which export, when SRC holds several")
    load.add_argument(
        "--with-text", action="store_true", help="keep citizens' tweet text (left out by default)"
    )
    load.set_defaults(func=_run("commands", "load"))

    query = sub.add_parser("query", help="run SQL over the loaded export")
    query.add_argument("sql", metavar="SQL")
    query.add_argument("--db", default=DEFAULT_DB)
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    query.set_defaults(func=_run("commands", "query"))

    verify = sub.add_parser("verify", help="check hash chains, sequences and replayed state of every ticket")
    verify.add_argument("--db", default=DEFAULT_DB)
    verify.set_defaults(func=_run("commands", "verify"))

    labels = sub.add_parser(
        "labels", help="operators' routing decisions as training examples (needs load --with-text)"
    )
    labels.add_argument("--db", default=DEFAULT_DB)
    labels.add_argument("--out", help="JSON lines file to write (default: stdout)")
    labels.set_defaults(func=_run("commands", "labels"))

    report = sub.add_parser("report", help="canned figures as HTML with charts, and as CSV")
    report.add_argument("--db", default=DEFAULT_DB)
    report.add_argument("--out", default="report.html", help="HTML file to write (default: report.html)")
    report.add_argument("--csv-dir", help="also write each figure as DIR/<figure>.csv")
    report.add_argument("--now", help="ISO time the figures are as of (default: the export's time)")
    report.set_defaults(func=_run("commands", "report"))


def _run(module: str, name: str) -> Any:
    """Import the command only when it runs, so `kemala --help` stays fast (duckdb, matplotlib)."""

    def run(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(f"kemala_cli.audit.{module}"), name)(args))

    return run
