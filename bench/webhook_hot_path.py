"""Figure: the webhook's CPU time per tweet versus a minimal hand-written handler.

Both handle the same signed Account Activity deliveries (one complaint tweet each, unique id) with AWS
answered by an in-memory stub (bench/aws_stub.py: botocore serialises, signs and parses as usual; only
the network is skipped). The minimal handler does exactly: HMAC check, JSON parse, one conditional
PutItem, one SendMessage. Budget (DESIGN.md): Kemala's handler <= 2x the minimal one.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import io
import json
import os
import statistics
import sys
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
N = int(os.environ.get("BENCH_TWEETS", "400"))
ROUNDS = 5
SECRET = "bench-secret"

os.environ.update(
    AWS_DEFAULT_REGION="ap-southeast-3",
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    TICKETS_TABLE="tickets",
    DIRECTORY_TABLE="directory",
    ROUTING_QUEUE_URL="https://sqs.ap-southeast-3.amazonaws.com/123456789012/routing",
    X_CONSUMER_SECRET_NAME="kemala/x-consumer",
    KEMALA_HASHTAGS="KemalaJateng",
    POWERTOOLS_SERVICE_NAME="webhook",
    POWERTOOLS_METRICS_NAMESPACE="Bench",
)

import aws_stub  # noqa: E402

aws_stub.install()


def deliveries() -> list[dict[str, Any]]:
    base = json.loads(
        (ROOT.parent / "shared/data/x-webhooks/aaa-incoming_tweet_with_mention.json").read_text()
    )
    events = []
    for i in range(N):
        payload = copy.deepcopy(base)
        tweet = payload["tweet_create_events"][0]
        tweet["id_str"] = str(1900000000000000000 + i)
        tweet["text"] = (
            f"#KemalaJateng jalan berlubang di Jl. Raya Purwodadi km {i}, mohon segera diperbaiki 🙏"
        )
        tweet["entities"]["hashtags"] = [{"text": "KemalaJateng", "indices": [0, 13]}]
        raw = json.dumps(payload).encode()
        sig = "sha256=" + base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
        events.append(
            {
                "version": "2.0",
                "routeKey": "POST /webhooks/x",
                "rawPath": "/webhooks/x",
                "rawQueryString": "",
                "headers": {"content-type": "application/json", "x-twitter-webhooks-signature": sig},
                "requestContext": {"http": {"method": "POST", "path": "/webhooks/x"}, "requestId": f"r{i}"},
                "body": raw.decode(),
                "isBase64Encoded": False,
            }
        )
    return events


def minimal_handler_factory() -> Any:
    import boto3

    ddb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    table, queue = os.environ["TICKETS_TABLE"], os.environ["ROUTING_QUEUE_URL"]

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        body = event["body"].encode()
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        expected = "sha256=" + base64.b64encode(digest).decode()
        if not hmac.compare_digest(expected, event["headers"].get("x-twitter-webhooks-signature", "")):
            return {"statusCode": 401}
        for tweet in json.loads(body)["tweet_create_events"]:
            ddb.put_item(
                TableName=table,
                Item={
                    "pk": {"S": f"TWEET#{tweet['id_str']}"},
                    "sk": {"S": "TWEET"},
                    "text": {"S": tweet["text"]},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"tweet_id": tweet["id_str"]}))
        return {"statusCode": 200}

    return handler


def cpu_per_tweet(handler: Any, events: list[dict[str, Any]], context: Any) -> float:
    """Median over rounds of CPU seconds per delivery (one tweet each); logs go to a null sink."""
    samples = []
    sink = io.StringIO()
    for _ in range(ROUNDS):
        with contextlib.redirect_stdout(sink):
            start = time.process_time()
            for event in events:
                resp = handler(event, context)
                assert resp["statusCode"] == 200, resp
            samples.append((time.process_time() - start) / len(events))
        sink.seek(0)
        sink.truncate()
    return statistics.median(samples)


def main() -> int:
    from kemala_cli.lambda_loader import load_function

    # A plain object, like Lambda's own context (a MagicMock costs ~350 us per invocation by itself).
    context = types.SimpleNamespace(
        function_name="webhook",
        function_version="$LATEST",
        memory_limit_in_mb=512,
        aws_request_id="r",
        invoked_function_arn="arn:aws:lambda:ap-southeast-3:123456789012:function:webhook",
    )
    events = deliveries()
    aws_stub.SECRET_STRING = json.dumps({"consumer_secret": SECRET})
    minimal = minimal_handler_factory()
    with contextlib.redirect_stdout(io.StringIO()):
        webhook = load_function("webhook").lambda_handler
        webhook(events[0], context)  # first request: secret fetch, clients, lazy schema builds
        minimal(events[0], context)
    ours = cpu_per_tweet(webhook, events, context)
    floor = cpu_per_tweet(minimal, events, context)
    ratio = ours / floor
    aws_stub.CALLS.clear()
    with contextlib.redirect_stdout(io.StringIO()):
        webhook(events[1], context)
    calls = dict(aws_stub.CALLS)
    print(
        f"webhook hot path: {ours * 1e6:.0f} us CPU per tweet vs minimal handler {floor * 1e6:.0f} us; "
        f"ratio {ratio:.2f} ({'within' if ratio <= 2 else 'OVER'} budget 2x; "
        f"{N} tweets x {ROUNDS} rounds, median)"
    )
    print(f"AWS requests per new-ticket delivery: {calls}")
    print(
        json.dumps(
            {
                "figure": "webhook_hot_path",
                "ours_us": round(ours * 1e6, 1),
                "minimal_us": round(floor * 1e6, 1),
                "ratio": round(ratio, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
