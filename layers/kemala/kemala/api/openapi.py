"""Write the API's OpenAPI document: `python -m kemala.api.openapi docs/openapi.json` (or to stdout).

The committed docs/openapi.json must equal what GET /openapi.json serves; a test checks it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kemala.api.routes import create_app, openapi_json


def render() -> str:
    return openapi_json(create_app(None))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    document = render()
    if args:
        Path(args[0]).write_text(document, encoding="utf-8")
    else:
        sys.stdout.write(document)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
