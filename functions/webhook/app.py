"""WebhookFunction: X's CRC check (GET) and signed deliveries (POST) on /webhooks/x.

Unlike the API, this handler reads the HTTP API v2 event directly instead of through Powertools'
event_handler: it has two routes, needs the exact raw body bytes for the signature, and its cold start
budget (1.3x boto3 + clients) has no room for the resolver's imports. See docs/decisions.md.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from kemala import aws
from kemala.ingest import IngestContext
from kemala.settings import WebhookSettings, load_settings
from kemala.store.directory import Directory
from kemala.store.tickets import TicketStore
from kemala.webhook import WebhookAnswer, answer_crc, answer_delivery

logger = Logger()
metrics = Metrics()
settings = load_settings(WebhookSettings)
ctx = IngestContext(
    store=TicketStore(settings.tickets_table),
    directory=Directory(settings.directory_table),
    routing_queue_url=settings.routing_queue_url,
    hashtags=frozenset(tag.casefold() for tag in settings.kemala_hashtags),
    reopen_window_days=settings.reopen_window_days,
)


def consumer_secret() -> str:
    """The X app's consumer secret from Secrets Manager (cached 5 minutes; JSON or plain string)."""
    value = str(aws.secrets().get(settings.x_consumer_secret_name, max_age=300))
    if value.startswith("{"):
        return str(json.loads(value)["consumer_secret"])
    return value


def handle(event: dict[str, Any]) -> WebhookAnswer:
    method = event.get("requestContext", {}).get("http", {}).get("method", "")
    if method == "GET":
        token = (event.get("queryStringParameters") or {}).get("crc_token")
        return answer_crc(consumer_secret(), token)
    if method == "POST":
        raw = event.get("body") or ""
        body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
        signature = (event.get("headers") or {}).get("x-twitter-webhooks-signature")
        return answer_delivery(body, signature, consumer_secret(), settings.max_body_bytes, ctx)
    return WebhookAnswer(405, {"error": "method_not_allowed", "message": f"{method} is not supported"})


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    answer = handle(event)
    metrics.add_metric(name=f"Webhook{answer.status}", unit=MetricUnit.Count, value=1)
    log = logger.warning if answer.status >= 400 else logger.info
    log("webhook answered", extra={"status": answer.status, "outcome": answer.body})
    return {
        "statusCode": answer.status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(answer.body),
    }
