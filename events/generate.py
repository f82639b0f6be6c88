"""Regenerate the sample events in events/ from the real X captures in ../shared/data/x-webhooks/.

    .venv/bin/python events/generate.py

The webhook events are signed with the sample consumer secret `kemala-sample-secret`: put that value in
the secret named by XConsumerSecretName to use them with `sam local invoke WebhookFunction -e ...`.
tests/unit/test_events.py fails if these files drift from what this script writes.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent
SHARED = EVENTS.parent.parent / "shared" / "data" / "x-webhooks"
SAMPLE_SECRET = "kemala-sample-secret"

COMPLAINT = (
    "Jalan berlubang di Jl. Raya Purwodadi–Semarang km 12 sudah 3 bulan gak diperbaiki, "
    "motor sering jatuh 😡 mohon segera ditangani #KemalaJateng"
)
LONG_COMPLAINT = (
    "Air PDAM di Perumnas Banyumanik mati sejak Senin, sudah lapor via telepon tapi belum ada kabar. "
    "Warga terpaksa beli air galon untuk mandi dan masak. Tolong Perumda Tirta Moedal segera cek "
    "pipa di Jl. Karangrejo, kami sudah menunggu 4 hari 🙏🏽 #KemalaJateng"
)


def _http_event(
    method: str, body: bytes | None, headers: dict[str, str], query: dict[str, str]
) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"{method} /webhooks/x",
        "rawPath": "/webhooks/x",
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "queryStringParameters": query or None,
        "headers": {"content-type": "application/json", "user-agent": "Twitter-Webhooks/1.0", **headers},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "kemala",
            "domainName": "kemala.execute-api.ap-southeast-3.amazonaws.com",
            "http": {
                "method": method,
                "path": "/webhooks/x",
                "protocol": "HTTP/1.1",
                "sourceIp": "199.59.150.1",
                "userAgent": "Twitter-Webhooks/1.0",
            },
            "requestId": "sample-request",
            "routeKey": f"{method} /webhooks/x",
            "stage": "$default",
            "time": "04/Dec/2026:09:00:00 +0000",
            "timeEpoch": 1796374800000,
        },
        "body": body.decode() if body is not None else None,
        "isBase64Encoded": False,
    }


def _signed_post(payload: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(payload, ensure_ascii=False).encode()
    digest = hmac.new(SAMPLE_SECRET.encode(), raw, hashlib.sha256).digest()
    return _http_event(
        "POST", raw, {"x-twitter-webhooks-signature": "sha256=" + base64.b64encode(digest).decode()}, {}
    )


def _complaint(text: str, tweet_id: str, truncated: bool) -> dict[str, Any]:
    payload = json.loads((SHARED / "aaa-incoming_tweet_with_mention.json").read_text())
    tweet = payload["tweet_create_events"][0]
    tweet.update(id_str=tweet_id, id=int(tweet_id), lang="in")
    tweet["user"].update(screen_name="warga_grobogan", name="Warga Grobogan", lang="in")
    tag_at = text.index("#KemalaJateng")
    hashtags = [{"text": "KemalaJateng", "indices": [tag_at, tag_at + 13]}]
    if truncated:
        tweet.update(text=text[:137] + "… https://t.co/abc", truncated=True)
        tweet["entities"]["hashtags"] = []
        tweet["extended_tweet"] = {
            "full_text": text,
            "display_text_range": [0, len(text)],
            "entities": {**copy.deepcopy(tweet["entities"]), "hashtags": hashtags},
        }
    else:
        tweet.update(text=text, truncated=False)
        tweet["entities"]["hashtags"] = hashtags
    return payload


def build() -> dict[str, dict[str, Any]]:
    delete = {
        "for_user_id": "602907365",
        "tweet_delete_events": [
            {
                "status": {
                    "id": 1733000000000000001,
                    "id_str": "1733000000000000001",
                    "user_id": 14235326,
                    "user_id_str": "14235326",
                },
                "timestamp_ms": "1796374900000",
            }
        ],
    }
    return {
        "webhook_crc.json": _http_event("GET", None, {}, {"crc_token": "foo"}),
        "webhook_complaint.json": _signed_post(_complaint(COMPLAINT, "1733000000000000001", truncated=False)),
        "webhook_complaint_truncated.json": _signed_post(
            _complaint(LONG_COMPLAINT, "1733000000000000002", True)
        ),
        "webhook_delete.json": _signed_post(delete),
        "webhook_dm_ignored.json": _signed_post(
            json.loads((SHARED / "aaa-direct_message_event_received.json").read_text())
        ),
    }


def main() -> None:
    for name, event in build().items():
        (EVENTS / name).write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote events/{name}")


if __name__ == "__main__":
    main()
