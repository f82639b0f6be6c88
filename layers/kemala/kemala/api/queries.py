"""Read-only views: list (filtered, paged), one ticket, its audit history, the agencies.

Index choice (never a table scan): an agency filter, or an agency caller, reads that agency's AgencyInbox
partition (a status filter becomes a key prefix there); a status filter alone reads that StatusBoard
partition; no filter walks the StatusBoard partitions one status after another. Other filters are
FilterExpressions.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from kemala.api.access import Principal, visible_or_404
from kemala.api.context import ApiContext
from kemala.api.errors import InvalidCursor, InvalidField, NotFound
from kemala.api.pagination import decode_cursor, encode_cursor, fingerprint
from kemala.api.schemas import AgencyList, AgencyView, TicketHistory, TicketPage
from kemala.audit_chain import verify_chain
from kemala.ids import iso
from kemala.models.ticket import Ticket, TicketStatus
from kemala.store.ticket_index import (
    BadStartKey,
    IndexQuery,
    TicketFilter,
    agency_partition,
    status_partition,
)
from kemala.store.tokens import Role

# The order in which an unfiltered listing walks the status board: work waiting first.
STATUS_ORDER = [
    TicketStatus.TRIAGE,
    TicketStatus.RECEIVED,
    TicketStatus.ASSIGNED,
    TicketStatus.RESPONDED,
    TicketStatus.RESOLVED,
    TicketStatus.CLOSED,
    TicketStatus.WITHDRAWN,
]
MAX_LIMIT = 100
_TICKET_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


class ListParams(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built by the first listing, not at cold start

    status: TicketStatus | None = None
    agency: str | None = None
    category: str | None = None
    region: str | None = None
    created_from: date | datetime | None = None
    created_to: date | datetime | None = None
    limit: int = Field(default=25, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


def _utc(moment: date | datetime) -> datetime:
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def created_range(params: ListParams) -> tuple[str | None, str | None]:
    """`from` inclusive; `to` inclusive of its whole day (a date) or of its millisecond (a datetime)."""
    start = _utc(params.created_from) if params.created_from is not None else None
    end = None
    if params.created_to is not None:
        step = timedelta(milliseconds=1) if isinstance(params.created_to, datetime) else timedelta(days=1)
        try:
            end = _utc(params.created_to) + step
        except OverflowError:  # the end of year 9999: no upper bound at all
            end = None
    if start is not None and end is not None and start >= end:
        raise InvalidField("to", "must not be before from", location="query")
    return (iso(start) if start else None), (iso(end) if end else None)


def plan(principal: Principal, params: ListParams) -> list[IndexQuery]:
    """The index partitions to read, in order. Empty when the filters exclude everything visible."""
    agency = params.agency
    if principal.role is Role.AGENCY:
        if agency is not None and agency != principal.agency_id:
            return []  # filters narrow what the caller may see: another agency's tickets are never in it
        agency = principal.agency_id
    created_from, created_before = created_range(params)
    flt = TicketFilter(params.category, params.region, created_from, created_before)
    if agency is not None:
        prefix = f"{params.status.value}#" if params.status else None
        return [IndexQuery("AgencyInbox", agency_partition(agency), prefix, flt)]
    statuses = [params.status] if params.status else STATUS_ORDER
    return [IndexQuery("StatusBoard", status_partition(s), None, flt) for s in statuses]


def list_tickets(ctx: ApiContext, principal: Principal, params: ListParams) -> TicketPage:
    queries = plan(principal, params)
    listing = fingerprint(
        {
            "caller": principal.actor,
            **params.model_dump(mode="json", exclude={"limit", "cursor"}),
        }
    )
    partition, key = decode_cursor(params.cursor, listing, queries) if params.cursor else (0, None)
    items: list[Ticket] = []
    while partition < len(queries):
        try:
            got, key = ctx.index.page(queries[partition], key, params.limit - len(items))
        except BadStartKey:
            raise InvalidCursor("cursor does not fit this listing") from None
        items.extend(got)
        if key is not None:  # the page is full, or the read budget is spent: continue here next time
            return TicketPage(items=items, next_cursor=encode_cursor(listing, partition, key))
        partition += 1
        if len(items) >= params.limit:
            more = partition < len(queries)
            return TicketPage(
                items=items, next_cursor=encode_cursor(listing, partition, None) if more else None
            )
    return TicketPage(items=items, next_cursor=None)


def check_ticket_id(ticket_id: str) -> None:
    """A malformed id is simply a ticket that does not exist (404), like an unknown or hidden one."""
    if not _TICKET_ID.match(ticket_id):
        raise NotFound(f"ticket {ticket_id[:40]!r} not found")


def load_visible(ctx: ApiContext, principal: Principal, ticket_id: str) -> Ticket:
    """The ticket if this caller may see it; 404 for malformed, unknown and other agencies' ids alike."""
    check_ticket_id(ticket_id)
    return visible_or_404(principal, ctx.tickets.get(ticket_id), ticket_id)


def ticket_history(ctx: ApiContext, principal: Principal, ticket_id: str) -> TicketHistory:
    ticket = load_visible(ctx, principal, ticket_id)
    events = ctx.tickets.events(ticket_id)
    problems = verify_chain(ticket_id, [e.model_dump() for e in events], head_hash=ticket.last_hash)
    return TicketHistory(
        ticket_id=ticket_id,
        events=events,
        chain_intact=not problems,
        chain_problems=[str(p) for p in problems],
    )


def list_agencies(ctx: ApiContext) -> AgencyList:
    return AgencyList(
        items=[AgencyView.model_validate(a.model_dump(mode="json")) for a in ctx.agencies.list_all()]
    )
