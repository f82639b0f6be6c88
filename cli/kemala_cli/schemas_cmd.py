"""`kemala schemas [--check]`: JSON Schemas of the SQS messages, generated from the pydantic models.

docs/schemas/envelope.json describes every message; docs/schemas/<type>.json (e.g. ticket.assigned.json)
is the same envelope with `type` fixed, for a consumer that takes one type. Agencies validate what they
consume against these; a test fails when the committed files drift from the models.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

from kemala_cli.cfn import PROJECT_ROOT
from kemala_cli.errors import CliError

SCHEMA_DIR = PROJECT_ROOT / "docs" / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("schemas", help="write the message JSON Schemas into docs/schemas/")
    parser.add_argument("--out", type=Path, default=SCHEMA_DIR, help="directory (default docs/schemas)")
    parser.add_argument("--check", action="store_true", help="only report files that differ; exit 2 if any")
    parser.set_defaults(func=run)


def generate() -> dict[str, dict[str, Any]]:
    """File name -> schema, for the envelope and for each message type."""
    from kemala.models.messages import Envelope, MessageType

    envelope = Envelope.model_json_schema(mode="serialization")
    envelope = {"$schema": DIALECT, **envelope, "title": "Kemala message envelope (any type)"}
    schemas = {"envelope.json": envelope}
    for message_type in MessageType:
        one = copy.deepcopy(envelope)
        one["title"] = f"Kemala message: {message_type.value}"
        one["properties"]["type"] = {"const": message_type.value, "title": "Type", "type": "string"}
        schemas[f"{message_type.value}.json"] = one
    return schemas


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def drift(out: Path = SCHEMA_DIR) -> list[str]:
    """Files in `out` that are missing, stale, or no longer generated."""
    wanted = {name: render(schema) for name, schema in generate().items()}
    problems = [
        name
        for name, text in wanted.items()
        if not (out / name).exists() or (out / name).read_text(encoding="utf-8") != text
    ]
    problems += sorted(p.name for p in out.glob("*.json") if p.name not in wanted)
    return problems


def run(args: argparse.Namespace) -> int:
    if args.check:
        stale = drift(args.out)
        if stale:
            raise CliError(f"schemas out of date in {args.out}: {', '.join(stale)}; run `kemala schemas`")
        print(f"{args.out}: up to date")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    wanted = generate()
    for stale in args.out.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    for name, schema in wanted.items():
        (args.out / name).write_text(render(schema), encoding="utf-8")
    print(f"wrote {len(wanted)} schemas to {args.out}")
    return 0
