"""Ticket ids (time-sortable) and public reference codes (short, unambiguous, safe to tweet)."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        out.append(_CROCKFORD[rem])
    return "".join(reversed(out))


def new_ticket_id(now_ms: int | None = None) -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, so ids sort by creation time."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return _b32(ms, 10) + _b32(int.from_bytes(os.urandom(10), "big"), 16)


def reference_code(ticket_id: str, prefix: str = "KJ") -> str:
    """The citizen-facing code, e.g. KJ-7K3M-9QX2: derived from the id, so it never needs storing twice."""
    digest = int.from_bytes(hashlib.sha256(ticket_id.encode()).digest()[:5], "big")
    code = _b32(digest, 8)
    return f"{prefix}-{code[:4]}-{code[4:]}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, so strings sort as times."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
