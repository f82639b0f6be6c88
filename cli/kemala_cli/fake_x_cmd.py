"""`kemala fake-x --port N`: run the fake X API (kemala_cli.fake_x) in the foreground.

The server module is imported only when the command runs, so other commands do not pay for jsonschema.
"""

from __future__ import annotations

import argparse
import time
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "fake-x",
        help="run the fake X API on 127.0.0.1 (validates against X's OpenAPI, records posts)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8399, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--rate-limit", type=int, default=200, help="posts per 15-minute window per account")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kemala_cli.errors import CliError
    from kemala_cli.fake_x import FakeX, SpecMissing

    if not 0 <= args.port <= 65535:
        raise CliError(f"--port must be 0..65535, not {args.port}")
    if args.rate_limit < 1:
        raise CliError(f"--rate-limit must be at least 1, not {args.rate_limit}")
    try:
        fake = FakeX(port=args.port, rate_limit=args.rate_limit).start()
    except SpecMissing as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}") from None
    print(f"fake X API on {fake.url}  (accepted posts: {fake.url}/_fake/posts; Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        fake.stop()
