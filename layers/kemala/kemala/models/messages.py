"""The versioned SQS message envelope, and the ticket snapshot it carries.

Every message is `{"version": 1, "type", "id", "occurred_at", "ticket": {...}}` plus type-specific fields
in `detail`. `id` is deterministic (a UUIDv5 of ticket id, type and ticket version), so a consumer can drop
a redelivered message by id. JSON Schemas for agencies are generated from these models into docs/schemas/.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kemala.models.ticket import Suggestion, Ticket, TicketStatus

_NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-4e35-9a0d-6b6b2a7c1e55")


class MessageType(StrEnum):
    RECEIVED = "ticket.received"
    FOLLOWUP = "ticket.followup"
    ASSIGNED = "ticket.assigned"
    NEEDS_TRIAGE = "ticket.needs_triage"
    ESCALATED = "ticket.escalated"
    REASSIGNED_AWAY = "ticket.reassigned_away"
    REPLY_REQUESTED = "reply.requested"
    REPLY_FAILED = "reply.failed"


class TicketSnapshot(BaseModel):
    """What a consumer needs to act on a ticket without reading TicketsTable."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    id: str
    ref: str
    status: TicketStatus
    version: int
    tweet_id: str
    author_id: str
    author_handle: str | None = None
    text: str | None = None
    lang: str | None = None
    place: str | None = None
    category: str | None = None
    region: str | None = None
    agency_id: str | None = None
    confidence: float | None = None
    suggestions: list[Suggestion] = Field(default_factory=list)
    due_at: str | None = None
    created_at: str

    @classmethod
    def of(cls, ticket: Ticket) -> TicketSnapshot:
        return cls.model_validate(ticket.model_dump())


class Envelope(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    version: Literal[1] = 1
    type: MessageType
    id: str
    occurred_at: str
    ticket: TicketSnapshot
    detail: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def build(
        cls,
        type_: MessageType,
        ticket: Ticket,
        occurred_at: str,
        detail: dict[str, Any] | None = None,
        discriminator: str = "",
    ) -> Envelope:
        """A message about `ticket`. Its id is stable for (ticket, type, discriminator), where the
        discriminator defaults to the ticket version; follow-ups pass their tweet id instead."""
        key = f"{ticket.id}|{type_.value}|{discriminator or ticket.version}"
        return cls(
            type=type_,
            id=str(uuid.uuid5(_NAMESPACE, key)),
            occurred_at=occurred_at,
            ticket=TicketSnapshot.of(ticket),
            detail=detail or {},
        )
