"""The per-ticket SHA-256 hash chain over audit events.

hash(event) = SHA-256( prev_hash || "\n" || canonical_json(body) ), where body is the event without
`prev_hash` and `hash`, and prev_hash of the first event is 64 zeros. canonical_json sorts keys, uses no
whitespace, keeps non-ASCII text as UTF-8 and writes integral numbers as integers, so the same event hashes
the same whether it was read from Python, from DynamoDB (Decimal) or from an export (`kemala audit`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

GENESIS_HASH = "0" * 64
_CHAINED_FIELDS = ("ticket_id", "seq", "type", "actor", "at", "set", "data")


def normalise(value: Any) -> Any:
    """Make numbers representation-independent: integral values become int, others float."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        as_float = float(value)
        return int(value) if as_float.is_integer() else as_float
    if isinstance(value, Mapping):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    raise TypeError(f"cannot hash a value of type {type(value).__name__}")


def canonical_json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(
        normalise(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def event_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    """The hash of `event` (a mapping with at least the chained fields) chained onto `prev_hash`."""
    body = {name: event.get(name) for name in _CHAINED_FIELDS}
    body["set"] = body["set"] or {}
    body["data"] = body["data"] or {}
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical_json(body)).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    ticket_id: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event {self.seq}" if self.seq is not None else "chain"
        return f"ticket {self.ticket_id}: {where}: {self.problem}"


def verify_chain(
    ticket_id: str, events: Iterable[Mapping[str, Any]], head_hash: str | None = None
) -> list[ChainProblem]:
    """Check one ticket's events: contiguous seqs from 1, each prev_hash links, each hash recomputes.

    `head_hash`, when given (the ticket item's `last_hash`), must equal the last event's hash, which
    catches a deleted tail event. Returns the problems found; an empty list means the chain is intact.
    """
    problems: list[ChainProblem] = []
    ordered = sorted(events, key=lambda e: int(e["seq"]))
    if not ordered:
        return [ChainProblem(ticket_id, None, "has no events")]
    prev = GENESIS_HASH
    for expected_seq, event in enumerate(ordered, start=1):
        seq = int(event["seq"])
        if seq != expected_seq:
            problems.append(
                ChainProblem(ticket_id, seq, f"expected seq {expected_seq} (an event is missing)")
            )
        if event.get("prev_hash") != prev:
            problems.append(ChainProblem(ticket_id, seq, "prev_hash does not link to the previous event"))
        recomputed = event_hash(str(event.get("prev_hash")), event)
        if recomputed != event.get("hash"):
            problems.append(ChainProblem(ticket_id, seq, "hash does not match the event's content"))
        prev = str(event.get("hash"))
    if head_hash is not None and head_hash != prev:
        problems.append(ChainProblem(ticket_id, None, "ticket's last_hash is not the last event's hash"))
    return problems
