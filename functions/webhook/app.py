"""WebhookFunction: X's CRC check (GET) and signed deliveries (POST) on /webhooks/x."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from kemala.ingest import IngestContext
from kemala.settings import WebhookSettings, load_settings
from kemala.store.directory import Directory
from kemala.store.tickets import TicketStore
from kemala.webhook import WebhookAnswer, answer_crc, answer_delivery

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()
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
    value = str(parameters.get_secret(settings.x_consumer_secret_name, max_age=300))
    if value.startswith("{"):
        return str(json.loads(value)["consumer_secret"])
    return value


def respond(answer: WebhookAnswer) -> Response:
    metrics.add_metric(name=f"Webhook{answer.status}", unit=MetricUnit.Count, value=1)
    if answer.status >= 400:
        logger.warning("webhook refused", extra={"status": answer.status, "error": answer.body.get("error")})
    return Response(status_code=answer.status, content_type="application/json", body=json.dumps(answer.body))


@app.get("/webhooks/x")
def crc() -> Response:
    return respond(answer_crc(consumer_secret(), app.current_event.get_query_string_value("crc_token")))


@app.post("/webhooks/x")
def receive() -> Response:
    event = app.current_event
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    signature = event.headers.get("x-twitter-webhooks-signature")
    answer = answer_delivery(body, signature, consumer_secret(), settings.max_body_bytes, ctx)
    logger.info("delivery handled", extra={"status": answer.status, "outcome": answer.body})
    return respond(answer)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
