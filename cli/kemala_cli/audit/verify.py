"""`kemala audit verify`: is every ticket in the export consistent with its own audit trail?

For each ticket: the hash chain recomputes (kemala.audit_chain, the same code that wrote it), sequence
numbers run 1..n without gaps, seq 1 is the creation event, the ticket's `version` equals its number of
events, and replaying the events' `set` in order gives the ticket's stored fields. Events whose ticket
item is gone are reported too. Each failing ticket is named with its reasons.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb
from kemala.audit_chain import normalise, verify_chain

CREATION_EVENT = "ticket.created"


@dataclass
class TicketFailure:
    ticket_id: str
    ref: str | None
    reasons: list[str] = field(default_factory=list)
    has_item: bool = True

    def __str__(self) -> str:
        return f"FAIL ticket {self.ticket_id} ({self.ref or 'ref unknown'}): " + "; ".join(self.reasons)


@dataclass
class VerifyResult:
    tickets: int
    events: int
    failures: list[TicketFailure]

    @property
    def intact(self) -> int:
        """Tickets (with a ticket item) that passed every check."""
        return self.tickets - sum(1 for f in self.failures if f.has_item)


def replay(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The ticket fields the events set, applied in seq order (a later event overrides)."""
    state: dict[str, Any] = {}
    for event in sorted(events, key=lambda e: int(e["seq"])):
        state.update(event.get("set") or {})
    return state


def _comparable(value: Any) -> Any:
    """None and "absent" are the same: ticket items are written without None values, at any depth,
    while events keep explicit nulls (a cleared field, a suggestion without an agency)."""
    value = normalise(value)
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def _state_mismatches(ticket: dict[str, Any], events: list[dict[str, Any]]) -> list[str]:
    reasons = []
    for name, value in sorted(replay(events).items()):
        stored = ticket.get(name)
        if _comparable(stored) != _comparable(value):
            reasons.append(f"{name} is {stored!r} but its events replay to {value!r}")
    return reasons


def check_ticket(ticket_id: str, ticket: dict[str, Any] | None, events: list[dict[str, Any]]) -> list[str]:
    """Every reason this ticket fails; empty when it is consistent."""
    if ticket is None:
        return [f"{len(events)} events but no ticket item"]
    reasons = [str(p).split(": ", 1)[1] for p in verify_chain(ticket_id, events, ticket.get("last_hash"))]
    first = next((e for e in events if int(e["seq"]) == 1), None)
    if first is None or first.get("type") != CREATION_EVENT:
        reasons.append(f"no creation event ({CREATION_EVENT} at seq 1)")
    if events and ticket.get("version") != len(events):
        reasons.append(f"version is {ticket.get('version')} but it has {len(events)} events")
    if events:
        reasons.extend(_state_mismatches(ticket, events))
    return reasons


def verify(con: duckdb.DuckDBPyConnection) -> VerifyResult:
    tickets = {tid: json.loads(item) for tid, item in con.execute("SELECT id, item FROM tickets").fetchall()}
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    count = 0
    for tid, item in con.execute(
        "SELECT ticket_id, item FROM ticket_events ORDER BY ticket_id, seq"
    ).fetchall():
        events[tid].append(json.loads(item))
        count += 1
    failures = []
    for tid in sorted(set(tickets) | set(events)):
        reasons = check_ticket(tid, tickets.get(tid), events.get(tid, []))
        if reasons:
            ref = (tickets.get(tid) or {}).get("ref")
            failures.append(TicketFailure(tid, ref, reasons, has_item=tid in tickets))
    return VerifyResult(tickets=len(tickets), events=count, failures=failures)
