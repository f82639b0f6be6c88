"""`kemala` command-line entry point. Each command group lives in its own module and registers itself."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from kemala_cli.errors import CliError

__all__ = ["CliError", "main"]

# Modules under kemala_cli, each with a `register(subparsers)` that sets `func` on its parsers.
COMMAND_GROUPS: list[str] = [
    "agencies_cmd",
    "schemas_cmd",
    "routing_cmd",
    "audit",
    "tokens_cmd",
    "fake_x_cmd",
    "local_cmd",
    "inbox_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kemala", description="Kemala: complaints on X, routed and audited."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_GROUPS:
        importlib.import_module(f"kemala_cli.{module_name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"kemala: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
