"""The ticket and its audit event, as stored in TicketsTable and shown through the API."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TicketStatus(StrEnum):
    """Ticket states, typed like FixMyStreet's open / fixed / closed."""

    RECEIVED = "RECEIVED"
    TRIAGE = "TRIAGE"
    ASSIGNED = "ASSIGNED"
    RESPONDED = "RESPONDED"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"
    WITHDRAWN = "WITHDRAWN"

    @property
    def state_type(self) -> str:
        if self is TicketStatus.RESOLVED:
            return "fixed"
        if self in (TicketStatus.CLOSED, TicketStatus.WITHDRAWN):
            return "closed"
        return "open"


class Suggestion(BaseModel):
    """One of the router's candidate (category, agency) pairs, shown to the triage team."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    category: str
    confidence: float
    agency_id: str | None = None


class Ticket(BaseModel):
    """One citizen complaint. `version` equals the number of audit events written for it."""

    model_config = ConfigDict(defer_build=True, extra="ignore", validate_assignment=False)

    id: str
    ref: str
    channel: str = "x"
    tweet_id: str
    author_id: str
    author_handle: str | None = None
    text: str | None = None  # purged (None) when the citizen deletes the tweet
    text_sha256: str | None = None
    lang: str | None = None
    hashtags: list[str] = Field(default_factory=list)
    place: str | None = None
    coordinates: list[float] | None = None
    status: TicketStatus = TicketStatus.RECEIVED
    category: str | None = None
    region: str | None = None
    agency_id: str | None = None
    confidence: float | None = None
    suggestions: list[Suggestion] = Field(default_factory=list)
    triage_reason: str | None = None
    due_at: str | None = None
    escalation_level: int = 0
    escalation_notice_owed: int | None = None  # the escalation level whose notice has not gone out yet
    close_reason: str | None = None
    duplicate_of: str | None = None
    reply_tweet_ids: list[str] = Field(default_factory=list)
    pending_reply_id: str | None = None
    last_reply_error: str | None = None
    ack_reply_id: str | None = None  # the acknowledgement owed or sent (once per ticket; docs/replies.md)
    first_response_at: str | None = None
    resolved_at: str | None = None
    version: int = 1
    last_hash: str = ""
    created_at: str
    updated_at: str
    expires_at: int | None = None  # epoch seconds: the DynamoDB TTL attribute (retention policy)


class AuditEvent(BaseModel):
    """An append-only audit record under its ticket (`EVENT#<seq>`), one link of the hash chain.

    `set` holds the ticket fields this event changed, with their new values, so an auditor can replay a
    ticket's state from its events alone. Citizen text is never put in an event (only its digest), so that
    honouring a deletion does not break the chain.
    """

    model_config = ConfigDict(defer_build=True, extra="ignore")

    ticket_id: str
    seq: int = Field(ge=1)
    type: str
    actor: str
    at: str
    set: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str
    hash: str
