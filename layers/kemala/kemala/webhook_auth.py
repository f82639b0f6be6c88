"""X webhook authentication: the CRC challenge response and the delivery signature check."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _sign(secret: str, message: bytes) -> str:
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def crc_response_token(consumer_secret: str, crc_token: str) -> str:
    """The `response_token` X expects for `GET ?crc_token=...`."""
    return _sign(consumer_secret, crc_token.encode())


def signature_for(consumer_secret: str, raw_body: bytes) -> str:
    """The `x-twitter-webhooks-signature` header value X sends with `raw_body` (used by tests and demo)."""
    return _sign(consumer_secret, raw_body)


def signature_is_valid(consumer_secret: str, raw_body: bytes, header: str | None) -> bool:
    """Constant-time check of the signature header over the exact raw body bytes. Fails closed."""
    if not header or not consumer_secret:
        return False
    return hmac.compare_digest(signature_for(consumer_secret, raw_body).encode(), header.strip().encode())
