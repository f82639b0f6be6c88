"""`kemala local up`: the whole stack on this machine (moto + in-process functions), optionally a demo.

See docs/local-stack.md. Ctrl-C (or SIGTERM) stops everything and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from kemala_cli.errors import CliError


def register(subparsers: Any) -> None:
    local = subparsers.add_parser("local", help="run Kemala locally (no AWS account, no Docker)")
    sub = local.add_subparsers(dest="local_command", required=True, metavar="SUBCOMMAND")
    up = sub.add_parser(
        "up",
        help="start the local stack from template.yaml",
        description="Start moto, create template.yaml's resources, seed agencies and tokens, serve the HTTP "
        "API, drive SQS event sources and schedules, start the fake X API, write DIR/local.json.",
    )
    up.add_argument("--port", type=int, default=3000, help="HTTP API port on 127.0.0.1 (0: any free port)")
    up.add_argument("--state-dir", type=Path, default=Path(".kemala"), help="where local.json and logs go")
    up.add_argument("--demo", action="store_true", help="replay a demo stream of complaint tweets")
    up.add_argument(
        "--once", action="store_true", help="with --demo: exit when it ends (0 = all expectations held)"
    )
    up.add_argument("--speed", type=float, default=1.0, help="run schedules N times faster (e.g. 3600)")
    up.add_argument("--tweets", type=int, default=300, help="demo size (complaint tweets)")
    up.add_argument(
        "--template",
        type=Path,
        help="a variant of template.yaml to run instead (CodeUri paths stay relative to the project)",
    )
    up.add_argument("--verbose", "-v", action="store_true", help="log the local stack's debug lines")
    up.set_defaults(func=run_up)
    redrive = sub.add_parser(
        "redrive",
        help="move a DLQ's messages back to their source queue (moto lacks StartMessageMoveTask)",
    )
    redrive.add_argument("dlq", help="the DLQ: a logical id (RoutingDLQ), a queue name or a URL")
    redrive.add_argument("--to", help="destination queue URL (default: the queue that dead-letters into it)")
    redrive.add_argument("--max", type=int, default=0, help="move at most N messages (0: all)")
    redrive.add_argument("--state-dir", type=Path, default=Path(".kemala"), help="where local.json is")
    redrive.set_defaults(func=run_redrive)


def run_redrive(args: argparse.Namespace) -> int:
    import json

    import boto3

    from kemala_cli.local.redrive import RedriveError, redrive

    path = args.state_dir / "local.json"
    if not path.exists():
        raise CliError(f"{path} not found: is `kemala local up` running (with this --state-dir)?")
    info = json.loads(path.read_text(encoding="utf-8"))
    sqs = boto3.client(
        "sqs",
        endpoint_url=info["aws_endpoint_url"],
        region_name=info["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    dlq = info["queues"].get(args.dlq) or args.dlq
    if not dlq.startswith("http"):
        dlq = f"{info['aws_endpoint_url']}/123456789012/{dlq}"
    try:
        result = redrive(sqs, dlq, args.to, args.max)
    except RedriveError as exc:
        raise CliError(str(exc)) from None
    except sqs.exceptions.QueueDoesNotExist:
        raise CliError(f"no queue {args.dlq!r} (see `queues` in {path})") from None
    print(f"moved {result.moved} message(s) from {dlq} to {result.source}")
    return 0


def _positive(args: argparse.Namespace) -> None:
    if args.once and not args.demo:
        raise CliError("--once needs --demo (it reports whether the demo's expectations held)")
    if args.speed <= 0:
        raise CliError("--speed must be positive")
    if not 1 <= args.tweets <= 5000:
        raise CliError("--tweets must be between 1 and 5000")
    if not 0 <= args.port <= 65535:
        raise CliError("--port must be 0-65535")
    if args.port:
        import socket

        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", args.port))
            except OSError:
                raise CliError(
                    f"port {args.port} is in use: give another --port, or --port 0 for any"
                ) from None


def run_up(args: argparse.Namespace) -> int:
    _positive(args)
    from kemala_cli.local.demo import Demo
    from kemala_cli.local.stack import LocalStack, Options

    console = sys.stdout  # the stack routes function output to log files; this stays the terminal
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="kemala local: %(message)s",
        stream=sys.stderr,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            return  # already stopping: a second Ctrl-C must not interrupt the clean shutdown
        stop.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    # explicitly: a shell without job control starts background commands with SIGINT ignored
    signal.signal(signal.SIGINT, on_signal)
    if args.template is not None and not args.template.is_file():
        raise CliError(f"--template {args.template}: no such file")
    options = Options(port=args.port, state_dir=args.state_dir, speed=args.speed, template=args.template)
    stack = LocalStack(options)
    try:
        try:
            info = stack.start()
        except OSError as exc:
            raise CliError(f"cannot start the local stack: {exc}") from None
        for note in stack.notes:
            logging.getLogger("kemala.local").info("%s", note)
        info["state_file"] = str(args.state_dir / "local.json")
        console.write(f"Kemala is running: API {info['api_url']}  (state in {info['state_file']})\n")
        ok = True
        if args.demo:
            demo = Demo(info, console, tweets=args.tweets)
            ok = demo.run()
            demo.where_next()
        if args.once:
            if not ok:
                failed = [e for e in demo.expectations if e.ok is False]
                console.write(f"\ndemo FAILED: {failed[0].name} ({failed[0].detail})\n")
            return 0 if ok else 1
        console.write("Ctrl-C to stop.\n")
        console.flush()
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        console.write("stopping ...\n")
        stack.stop()
        console.write("stopped.\n")
    return 0
