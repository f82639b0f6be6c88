"""Cold start of a Lambda function versus its floor, each in fresh interpreters.

The floor (DESIGN.md): `import boto3` plus creating the boto3 clients the function uses. The function's
figure: importing its module (its whole init) plus creating those same clients, as its first request
would. Interpreter start-up is common to both and excluded. Budget: function / floor <= 1.3.

Usage: python bench/cold_start.py FUNCTION CLIENT [CLIENT ...]   (e.g. webhook dynamodb sqs secretsmanager)

Optionally (`main(argv, first_request=...)`, used by bench/api_cold_start.py and
bench/authorizer_cold_start.py) a second figure times init *plus a first request*, so that work moved
from import to the first request is still counted: the function handles one event with AWS answered by
bench/aws_stub.py, and its floor makes the same AWS calls with plain boto3 clients.

BENCH_CLOCK=cpu times each interpreter's own CPU (time.process_time) instead of wall time: steadier on a
shared, loaded machine, where other processes stretch wall time. The default (wall) is the budget's figure.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
CPU_CLOCK = os.environ.get("BENCH_CLOCK", "wall") == "cpu"
BUDGET = 1.3

ENV = {
    "AWS_DEFAULT_REGION": "ap-southeast-3",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "TICKETS_TABLE": "tickets",
    "DIRECTORY_TABLE": "directory",
    "ROUTING_QUEUE_URL": "https://sqs.ap-southeast-3.amazonaws.com/123456789012/routing",
    "OPERATORS_QUEUE_URL": "https://sqs.ap-southeast-3.amazonaws.com/123456789012/operators",
    "OUTBOUND_QUEUE_URL": "https://sqs.ap-southeast-3.amazonaws.com/123456789012/outbound",
    "X_CONSUMER_SECRET_NAME": "kemala/x-consumer",
    "KEMALA_HASHTAGS": "KemalaJateng",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
}

FLOOR = """
import time
t0 = time.perf_counter()
import boto3
for name in {clients!r}:
    boto3.client(name)
print(time.perf_counter() - t0)
"""

FUNCTION = """
import sys, time
t0 = time.perf_counter()
sys.path[:0] = [{fn_dir!r}, {layer_dir!r}]  # as in Lambda: the function dir, then the layer's python/
import app
from kemala import aws
for name in {clients!r}:
    aws.client(name)
print(time.perf_counter() - t0)
"""


FIRST_REQUEST_FLOOR = """
import sys, time
t0 = time.perf_counter()
sys.path[:0] = [{bench_dir!r}]
import boto3
clients = {{name: boto3.client(name) for name in {clients!r}}}
"""

FIRST_REQUEST_FUNCTION = """
import sys, time
t0 = time.perf_counter()
sys.path[:0] = [{fn_dir!r}, {layer_dir!r}, {bench_dir!r}]
import app
from kemala import aws
for name in {clients!r}:
    aws.client(name)
"""


@dataclass(frozen=True)
class FirstRequest:
    """A first request to time after init. `setup` runs in both interpreters once the clients exist (it
    installs bench/aws_stub.py, with any canned answers); `function` invokes `app.lambda_handler` and must
    check its answer; `floor` makes the same AWS calls with the dict `clients` of plain boto3 clients."""

    label: str
    setup: str
    function: str
    floor: str


def _timed(head: str, body: str) -> str:
    return head + body + "\nprint(time.perf_counter() - t0)\n"


def _run(code: str) -> float:
    if CPU_CLOCK:
        code = code.replace("time.perf_counter()", "time.process_time()")
    env = {**os.environ, **ENV, "PYTHONDONTWRITEBYTECODE": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def measure(function: str, clients: list[str], first_request: FirstRequest | None = None) -> dict[str, float]:
    fn_dir = str(ROOT / "functions" / function)
    layer_dir = str(ROOT / "layers" / "kemala")
    if first_request is None:
        floor_code = FLOOR.format(clients=clients)
        fn_code = FUNCTION.format(fn_dir=fn_dir, layer_dir=layer_dir, clients=clients)
    else:
        bench_dir = str(ROOT / "bench")
        floor_code = _timed(
            FIRST_REQUEST_FLOOR.format(bench_dir=bench_dir, clients=clients),
            first_request.setup + "\n" + first_request.floor,
        )
        fn_code = _timed(
            FIRST_REQUEST_FUNCTION.format(
                fn_dir=fn_dir, layer_dir=layer_dir, bench_dir=bench_dir, clients=clients
            ),
            first_request.setup + "\n" + first_request.function,
        )
    _run(fn_code)  # warm the bytecode cache once, as a layer ships .pyc
    floors, fns = [], []
    for _ in range(RUNS):  # interleaved, so machine noise hits both alike
        floors.append(_run(floor_code))
        fns.append(_run(fn_code))
    floor, fn = statistics.median(floors), statistics.median(fns)
    return {"floor_ms": floor * 1000, "function_ms": fn * 1000, "ratio": fn / floor}


def main(argv: list[str], first_request: FirstRequest | None = None) -> int:
    function, clients = argv[0], argv[1:]
    result = measure(function, clients)
    verdict = "within" if result["ratio"] <= BUDGET else "OVER"
    print(
        f"cold start {function}: {result['function_ms']:.0f} ms vs floor {result['floor_ms']:.0f} ms "
        f"(import boto3 + {', '.join(clients)} clients); ratio {result['ratio']:.2f} "
        f"({verdict} budget {BUDGET}x; median of {RUNS}{', CPU time' if CPU_CLOCK else ''})"
    )
    print(json.dumps({"figure": f"{function}_cold_start", **{k: round(v, 3) for k, v in result.items()}}))
    if first_request is not None:
        result = measure(function, clients, first_request)
        verdict = "within" if result["ratio"] <= BUDGET else "OVER"
        print(
            f"cold start + first request ({first_request.label}) {function}: "
            f"{result['function_ms']:.0f} ms vs floor {result['floor_ms']:.0f} ms (the same + the same AWS "
            f"calls with plain clients); ratio {result['ratio']:.2f} ({verdict} {BUDGET}x; median of {RUNS}"
            f"{', CPU time' if CPU_CLOCK else ''})"
        )
        figure = {"figure": f"{function}_first_request", **{k: round(v, 3) for k, v in result.items()}}
        print(json.dumps(figure))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
