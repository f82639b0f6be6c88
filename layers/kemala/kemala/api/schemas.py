"""Request bodies and response shapes of the API; they are what docs/openapi.json describes.

Every model defers its validator build (`defer_build`) to its first use: a request builds only the
models of its own route, not all of them at cold start.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from kemala.models.ticket import AuditEvent, Ticket

TICKET_ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"  # a ULID (kemala.ids.new_ticket_id)
AGENCY_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"  # as kemala.routing.types.Agency.id
CATEGORY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
REGION_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"

AgencyId = Annotated[
    str, Field(pattern=AGENCY_ID_PATTERN, description="An agency id, e.g. dpu-kota-semarang")
]
Reason = Annotated[str, Field(min_length=3, max_length=500)]


class _Schema(BaseModel):
    model_config = ConfigDict(defer_build=True)


class _Body(_Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DelegateBody(_Body):
    agency_id: AgencyId
    category: str | None = Field(
        default=None, pattern=CATEGORY_PATTERN, description="Correct the category too (kept for retraining)"
    )


class ReassignBody(_Body):
    agency_id: AgencyId
    reason: Reason


class RejectBody(_Body):
    reason: Reason = Field(description='Why it is not this agency\'s job ("bukan kewenangan kami")')


class ReplyBody(_Schema):
    model_config = ConfigDict(extra="forbid")  # the text is posted exactly as given: no stripping

    text: str = Field(
        min_length=1, max_length=4000, description="Posted on X as given; at most 280 as X counts it"
    )


class ResolveBody(_Body):
    note: str = Field(min_length=1, max_length=1000)


class CloseReason(StrEnum):
    SPAM = "spam"
    DUPLICATE = "duplicate"
    NOT_ACTIONABLE = "not_actionable"


class CloseBody(_Body):
    reason: CloseReason
    duplicate_of: str | None = Field(
        default=None, pattern=TICKET_ID_PATTERN, description="Required when reason is duplicate"
    )


class TicketPage(_Schema):
    items: list[Ticket]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class TicketHistory(_Schema):
    ticket_id: str
    events: list[AuditEvent]
    chain_intact: bool = Field(description="Every event's hash recomputes and links to the previous one")
    chain_problems: list[str] = []


class ActionResult(_Schema):
    ticket: Ticket
    notified: list[str] = Field(description="Queues told about the change: agency:<id>, operators, outbound")
    not_notified: list[str] = Field(
        default_factory=list, description="Queues that could not be told (the change itself is saved)"
    )


class ReplyAccepted(ActionResult):
    reply_id: str
    weighted_length: int
    in_reply_to_tweet_id: str


class AgencyView(_Schema):
    """What every API user may know about an agency (no queue URL, no secret name)."""

    id: str
    name: str
    level: str
    region: str
    categories: list[str]
    x_handle: str | None = None
    sla_hours: int
    active: bool


class AgencyList(_Schema):
    items: list[AgencyView]


class Stats(_Schema):
    total: int
    by_status: dict[str, int]
    by_agency: dict[str, int] = Field(description='Ticket counts per agency id ("unassigned" for none)')
    responded: int = Field(description="Tickets with a first public response")
    median_first_response_seconds: float | None = Field(
        description="Median of first_response_at - created_at over responded tickets; null if none"
    )
