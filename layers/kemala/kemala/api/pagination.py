"""Opaque list cursors: where the next page starts, bound to the query that made it.

A cursor is base64url JSON `{"v": 1, "q": <query fingerprint>, "p": <partition number>, "k": <start key>}`.
It is validated, not signed: the fingerprint must match the request's filters and caller, the key must
be a ticket key inside the partition being read. Every page is still read through the caller's own
access rules, so a forged cursor can at most skip within what the caller may see anyway (docs/decisions.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kemala.api.errors import InvalidCursor
from kemala.store.ticket_index import INDEX_KEYS, IndexQuery, PageKey

MAX_CURSOR_CHARS = 2048
_TICKET_PK = re.compile(r"^TICKET#[0-9A-HJKMNP-TV-Z]{26}$")


class _Cursor(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built by the first cursor

    v: int = Field(ge=1, le=1)
    q: str
    p: int = Field(ge=0)
    k: dict[str, str] | None = None


def fingerprint(parts: dict[str, Any]) -> str:
    """A short digest of what the listing is (filters and caller), not where it is."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode_cursor(query_fingerprint: str, partition: int, key: PageKey | None) -> str:
    raw = json.dumps({"v": 1, "q": query_fingerprint, "p": partition, "k": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(
    cursor: str, query_fingerprint: str, queries: list[IndexQuery]
) -> tuple[int, PageKey | None]:
    """(partition number, start key) of a cursor made for this very listing; InvalidCursor otherwise."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidCursor("cursor is too long; pass back the next_cursor of the previous page unchanged")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        state = _Cursor.model_validate_json(raw)
    except (binascii.Error, ValueError, ValidationError):
        raise InvalidCursor("cursor is not one this API issued") from None
    if state.q != query_fingerprint:
        raise InvalidCursor("cursor belongs to a listing with other filters; start again without cursor")
    if state.p >= len(queries):
        raise InvalidCursor("cursor points past the end of the listing")
    if state.k is not None:
        _check_key(state.k, queries[state.p])
    return state.p, state.k


def _check_key(key: dict[str, str], query: IndexQuery) -> None:
    pk_name, sk_name = INDEX_KEYS[query.index]
    ok = (
        set(key) == {"pk", "sk", pk_name, sk_name}
        and bool(_TICKET_PK.match(key["pk"]))
        and key["sk"] == "TICKET"
        and key[pk_name] == query.partition
        and key[sk_name].startswith(query.sk_prefix or "")
        and len(key[sk_name]) <= 200
    )
    if not ok:
        raise InvalidCursor("cursor does not fit this listing")
