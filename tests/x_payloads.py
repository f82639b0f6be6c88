"""Builders of X deliveries from the real captured payloads in ../shared/data/x-webhooks/."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from kemala.webhook_auth import signature_for

from tests.conftest import CONSUMER_SECRET, shared_json

MENTION = "x-webhooks/aaa-incoming_tweet_with_mention.json"
MENTION_REPLY = "x-webhooks/aaa-incoming_tweet_with_mention_reply.json"
SENT = "x-webhooks/aaa-incoming_tweet_sent.json"
DM = "x-webhooks/aaa-direct_message_event_received.json"


def complaint_delivery(
    text: str,
    tweet_id: str = "1124287614780047362",
    author_id: str = "14235326",
    hashtags: tuple[str, ...] = ("KemalaJateng",),
    in_reply_to: str | None = None,
    base: str = MENTION,
) -> dict[str, Any]:
    """The real AAA mention capture with its text, id, hashtags and reply target replaced."""
    payload = copy.deepcopy(shared_json(base))
    tweet = payload["tweet_create_events"][0]
    tweet["text"] = text
    tweet["id_str"] = tweet_id
    tweet["id"] = int(tweet_id)
    tweet["user"]["id_str"] = author_id
    tweet["entities"]["hashtags"] = [{"text": h, "indices": [0, len(h) + 1]} for h in hashtags]
    tweet["in_reply_to_status_id_str"] = in_reply_to
    tweet["in_reply_to_status_id"] = int(in_reply_to) if in_reply_to else None
    return payload


def delete_delivery(
    tweet_id: str, author_id: str = "14235326", for_user_id: str = "602907365"
) -> dict[str, Any]:
    return {
        "for_user_id": for_user_id,
        "tweet_delete_events": [
            {
                "status": {
                    "id": int(tweet_id),
                    "id_str": tweet_id,
                    "user_id": int(author_id),
                    "user_id_str": author_id,
                },
                "timestamp_ms": "1556886030274",
            }
        ],
    }


def signed(body: bytes | str | dict[str, Any], secret: str = CONSUMER_SECRET) -> tuple[bytes, str]:
    raw = (
        body
        if isinstance(body, bytes)
        else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
    )
    return raw, signature_for(secret, raw)


def http_event(
    method: str, raw: bytes = b"", headers: dict[str, str] | None = None, query: dict[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2) event for /webhooks/x."""
    return {
        "version": "2.0",
        "routeKey": f"{method} /webhooks/x",
        "rawPath": "/webhooks/x",
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "queryStringParameters": query,
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": {
            "http": {
                "method": method,
                "path": "/webhooks/x",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "test",
            },
            "requestId": "req-1",
            "routeKey": f"{method} /webhooks/x",
            "stage": "$default",
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "local",
            "domainPrefix": "local",
            "time": "04/Dec/2026:00:00:00 +0000",
            "timeEpoch": 0,
        },
        **_body_fields(raw),
    }


def _body_fields(raw: bytes) -> dict[str, Any]:
    """Text bodies pass as text; anything not UTF-8 goes base64, as API Gateway does."""
    if not raw:
        return {"body": None, "isBase64Encoded": False}
    try:
        return {"body": raw.decode("utf-8"), "isBase64Encoded": False}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
