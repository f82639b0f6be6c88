"""Which status transitions are allowed. One table, consulted by every writer.

A transition that is not in the table is a `TransitionNotAllowed` (HTTP 409), never a silent overwrite.
"""

from __future__ import annotations

from kemala.models.ticket import TicketStatus as S

ALLOWED: dict[S, frozenset[S]] = {
    S.RECEIVED: frozenset({S.TRIAGE, S.ASSIGNED, S.CLOSED, S.WITHDRAWN}),
    S.TRIAGE: frozenset({S.ASSIGNED, S.CLOSED, S.WITHDRAWN}),
    # ASSIGNED -> ASSIGNED is a reassignment; ASSIGNED -> TRIAGE is an agency's rejection.
    S.ASSIGNED: frozenset({S.ASSIGNED, S.TRIAGE, S.RESPONDED, S.RESOLVED, S.CLOSED, S.WITHDRAWN}),
    S.RESPONDED: frozenset({S.ASSIGNED, S.TRIAGE, S.RESPONDED, S.RESOLVED, S.CLOSED, S.WITHDRAWN}),
    # A citizen follow-up within the reopen window sends a resolved ticket back to its agency.
    S.RESOLVED: frozenset({S.ASSIGNED, S.CLOSED, S.WITHDRAWN}),
    S.CLOSED: frozenset({S.WITHDRAWN}),
    S.WITHDRAWN: frozenset(),
}


class TransitionNotAllowed(Exception):
    """The requested change is not allowed from the ticket's current status."""

    def __init__(self, ticket_id: str, current: S, wanted: S) -> None:
        super().__init__(f"ticket {ticket_id} is {current.value}; it cannot move to {wanted.value}")
        self.ticket_id = ticket_id
        self.current = current
        self.wanted = wanted


def check_transition(ticket_id: str, current: S, wanted: S) -> None:
    """Raise `TransitionNotAllowed` unless `current -> wanted` is in the table."""
    if wanted not in ALLOWED[current]:
        raise TransitionNotAllowed(ticket_id, current, wanted)
