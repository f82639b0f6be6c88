"""The webhook's request-level logic: size limit, signature, JSON, shape; then ingestion.

Answers (documented in docs/webhook.md):
  413 body larger than the limit (checked first: no HMAC work for abuse)
  401 missing or wrong signature (nothing is stored)
  400 malformed JSON or a shape we do not understand (the error names the field)
  200 stored (or ignored, or a duplicate): {"created", "duplicates", ...}
  503 DynamoDB or SQS unavailable: X retries the delivery, and redelivery is safe
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kemala.ingest import IngestContext, ingest_delivery
from kemala.models.x_payloads import PayloadShapeError, parse_delivery
from kemala.store.dynamo import StorageUnavailable
from kemala.webhook_auth import crc_response_token, signature_is_valid


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: dict[str, Any]


def _error(status: int, code: str, message: str) -> WebhookAnswer:
    return WebhookAnswer(status, {"error": code, "message": message})


def answer_crc(consumer_secret: str, crc_token: str | None) -> WebhookAnswer:
    if not crc_token:
        return _error(400, "missing_crc_token", "query parameter crc_token is required")
    return WebhookAnswer(200, {"response_token": crc_response_token(consumer_secret, crc_token)})


def answer_delivery(
    raw_body: bytes, signature: str | None, consumer_secret: str, max_body_bytes: int, ctx: IngestContext
) -> WebhookAnswer:
    if len(raw_body) > max_body_bytes:
        return _error(413, "body_too_large", f"body is {len(raw_body)} bytes; the limit is {max_body_bytes}")
    if not signature:
        return _error(401, "missing_signature", "header x-twitter-webhooks-signature is required")
    if not signature_is_valid(consumer_secret, raw_body, signature):
        return _error(401, "bad_signature", "x-twitter-webhooks-signature does not match the body")
    try:
        payload = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _error(400, "malformed_json", f"body is not valid JSON: {exc}")
    try:
        delivery = parse_delivery(payload)
    except PayloadShapeError as exc:
        return _error(400, "bad_shape", str(exc))
    try:
        outcome = ingest_delivery(delivery, ctx)
    except StorageUnavailable as exc:
        return _error(503, "storage_unavailable", f"try again later ({type(exc).__name__})")
    return WebhookAnswer(200, outcome.model_dump())
