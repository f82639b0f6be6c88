"""The changes people make through the API: delegate, reassign, reject, reply, resolve, close.

Each is a `Change` applied by `update_with_retry`: the ticket is re-read and the action re-decided if
someone else wrote first, so preconditions (status, visibility, a pending reply) are always judged on the
current ticket. The status move itself is checked against `kemala.lifecycle`; the action's own rule (e.g.
delegate only from TRIAGE) is checked here, and both answer 409. An `If-Match` version pins the ticket the
caller looked at: any other version is 409 `stale_ticket`, with no retry.

Messages are sent after the transaction commits. If a notification cannot be queued the change still
stands (the inbox is the source of truth) and the answer says which queue missed it; a reply, whose
message *is* the work, is cancelled instead (audited) and answered 503, so nothing is silently pending.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from aws_lambda_powertools import Logger

from kemala.acknowledgement import acknowledgement, speaker
from kemala.api.access import Principal, require_role, visible_or_404
from kemala.api.context import ApiContext
from kemala.api.errors import Conflict, InvalidField, NotFound, ReplyPending, StaleView, Unavailable
from kemala.api.queries import check_ticket_id
from kemala.api.schemas import (
    ActionResult,
    CloseBody,
    CloseReason,
    DelegateBody,
    ReassignBody,
    RejectBody,
    ReplyAccepted,
    ReplyBody,
    ResolveBody,
)
from kemala.ids import iso, parse_iso
from kemala.lifecycle import TransitionNotAllowed
from kemala.models.messages import Envelope, MessageType
from kemala.models.replies import ReplyRequest
from kemala.models.ticket import Ticket, TicketStatus
from kemala.queues import QueueUnavailable, send_envelopes
from kemala.routing.types import Agency
from kemala.store.tickets import Change, StaleTicket, TicketNotFound, text_digest, update_with_retry
from kemala.store.tokens import Role

logger = Logger(child=True)

S = TicketStatus
WITH_AGENCY = frozenset({S.ASSIGNED, S.RESPONDED})


@dataclass(frozen=True)
class Outgoing:
    target: str  # agency:<id> | operators | outbound: named in the answer, never a URL
    queue_url: str | None
    envelope: Envelope


def _event_data(principal: Principal, **data: object) -> dict[str, object]:
    """Event-only context; `via` names the token (hash prefix) so an auditor can tell who acted."""
    via = {"via": f"token:{principal.token_id}"} if principal.token_id else {}
    return {**{k: v for k, v in data.items() if v is not None}, **via}


def _require_status(ticket: Ticket, action: str, allowed: frozenset[TicketStatus], hint: str = "") -> None:
    if ticket.status not in allowed:
        wanted = " or ".join(sorted(s.value for s in allowed))
        raise Conflict(
            f"cannot {action} ticket {ticket.id}: it is {ticket.status.value}, needs {wanted}{hint}"
        )


def _agency(ctx: ApiContext, agency_id: str) -> Agency:
    agency = ctx.agencies.get(agency_id)
    if agency is None:
        raise InvalidField("agency_id", f"no agency {agency_id!r}; see GET /agencies")
    if not agency.active:
        raise InvalidField("agency_id", f"agency {agency_id!r} is not active")
    return agency


def _due_at(ctx: ApiContext, agency: Agency) -> str:
    return iso(parse_iso(ctx.now()) + timedelta(hours=agency.sla_hours))


def _apply(
    ctx: ApiContext,
    principal: Principal,
    ticket_id: str,
    expected_version: int | None,
    decide: Callable[[Ticket], Change],
) -> Ticket:
    """Load (visible to the caller or 404), check the pinned version, decide, write; retried on a race."""
    check_ticket_id(ticket_id)  # 404 for ids that cannot exist, before touching DynamoDB

    def build(ticket: Ticket) -> Change:
        visible_or_404(principal, ticket, ticket_id)
        if expected_version is not None and ticket.version != expected_version:
            raise StaleView(
                f"ticket {ticket_id} is at version {ticket.version}, not {expected_version}; reload it"
            )
        return decide(ticket)

    try:
        updated = update_with_retry(ctx.tickets, ticket_id, build, ctx.now)
    except TicketNotFound:
        raise NotFound(f"ticket {ticket_id} not found") from None
    except StaleTicket as exc:
        raise StaleView(f"{exc} (another change won the race)") from None
    except TransitionNotAllowed as exc:
        raise Conflict(str(exc)) from None
    if updated is None:  # build never returns None; kept for the type checker
        raise Conflict(f"ticket {ticket_id} was not changed")
    return updated


def _notify(ticket: Ticket, outgoing: list[Outgoing]) -> ActionResult:
    notified: list[str] = []
    missed: list[str] = []
    for out in outgoing:
        if not out.queue_url:
            logger.warning("no queue to notify", extra={"target": out.target, "ticket_id": ticket.id})
            missed.append(out.target)
            continue
        try:
            send_envelopes(out.queue_url, [out.envelope])
            notified.append(out.target)
        except QueueUnavailable:
            logger.exception("notification not queued", extra={"target": out.target, "ticket_id": ticket.id})
            missed.append(out.target)
    return ActionResult(ticket=ticket, notified=notified, not_notified=missed)


def _to_agency(agency: Agency, type_: MessageType, ticket: Ticket, detail: dict[str, object]) -> Outgoing:
    envelope = Envelope.build(type_, ticket, ticket.updated_at, detail=detail)
    return Outgoing(f"agency:{agency.id}", agency.queue_url, envelope)


# --- operator actions -------------------------------------------------------------------------------


def delegate(
    ctx: ApiContext, principal: Principal, ticket_id: str, body: DelegateBody, expected_version: int | None
) -> ActionResult:
    """TRIAGE (or not yet routed, RECEIVED) -> ASSIGNED to the agency the operator chose. A ticket never
    acknowledged before also gets the citizen's acknowledgement (when configured), queued after the commit
    like the agency's notification."""
    require_role(principal, Role.OPERATOR)
    agency = _agency(ctx, body.agency_id)
    account = speaker(ctx.agencies.get, ctx.ack_agency_id)
    made: dict[str, ReplyRequest] = {}

    def decide(ticket: Ticket) -> Change:
        _require_status(ticket, "delegate", frozenset({S.TRIAGE, S.RECEIVED}), "; use reassign instead")
        made.clear()
        fields: dict[str, object] = {
            "agency_id": agency.id,
            "due_at": _due_at(ctx, agency),
            "escalation_level": 0,
            "triage_reason": None,
        }
        if body.category:
            fields["category"] = body.category
        data = _event_data(principal, previous_status=ticket.status.value, category_was=ticket.category)
        ack = acknowledgement(ticket, agency, account, principal.actor)
        if ack is not None:
            fields["ack_reply_id"] = ack.reply_id
            data["acknowledge_as"] = ack.agency_id
            made["ack"] = ack
        return Change("ticket.delegated", principal.actor, S.ASSIGNED, fields=fields, data=data)

    ticket = _apply(ctx, principal, ticket_id, expected_version, decide)
    detail = {"assigned_by": principal.actor, "how": "delegated"}
    outgoing = [_to_agency(agency, MessageType.ASSIGNED, ticket, detail)]
    if "ack" in made:
        ack = made["ack"]
        envelope = Envelope.build(
            MessageType.REPLY_REQUESTED, ticket, ticket.updated_at, ack.model_dump(), ack.reply_id
        )
        outgoing.append(Outgoing("outbound", ctx.outbound_queue_url, envelope))
    return _notify(ticket, outgoing)


def reassign(
    ctx: ApiContext, principal: Principal, ticket_id: str, body: ReassignBody, expected_version: int | None
) -> ActionResult:
    """An assigned ticket moves to another agency; the old one is told it is no longer theirs."""
    require_role(principal, Role.OPERATOR)
    agency = _agency(ctx, body.agency_id)
    previous: dict[str, str] = {}

    def decide(ticket: Ticket) -> Change:
        _require_status(ticket, "reassign", WITH_AGENCY, "; use delegate for TRIAGE tickets")
        if ticket.agency_id == agency.id:
            raise InvalidField("agency_id", f"ticket is already assigned to {agency.id}")
        previous["agency_id"] = ticket.agency_id or ""
        fields = {"agency_id": agency.id, "due_at": _due_at(ctx, agency), "escalation_level": 0}
        data = _event_data(principal, from_agency=ticket.agency_id, reason=body.reason)
        return Change("ticket.reassigned", principal.actor, S.ASSIGNED, fields=fields, data=data)

    ticket = _apply(ctx, principal, ticket_id, expected_version, decide)
    outgoing = [
        _to_agency(
            agency, MessageType.ASSIGNED, ticket, {"assigned_by": principal.actor, "how": "reassigned"}
        )
    ]
    old = ctx.agencies.get(previous["agency_id"]) if previous.get("agency_id") else None
    if old is not None:
        away = {"reason": body.reason, "new_agency_id": agency.id, "reassigned_by": principal.actor}
        outgoing.append(_to_agency(old, MessageType.REASSIGNED_AWAY, ticket, away))
    return _notify(ticket, outgoing)


def close(
    ctx: ApiContext, principal: Principal, ticket_id: str, body: CloseBody, expected_version: int | None
) -> ActionResult:
    """Spam, duplicate (of an existing ticket) or not actionable: CLOSED with the reason."""
    require_role(principal, Role.OPERATOR)
    if body.reason is CloseReason.DUPLICATE:
        if not body.duplicate_of:
            raise InvalidField("duplicate_of", "required when reason is duplicate")
        if body.duplicate_of == ticket_id:
            raise InvalidField("duplicate_of", "a ticket cannot duplicate itself")
        if ctx.tickets.get(body.duplicate_of) is None:
            raise InvalidField("duplicate_of", f"no ticket {body.duplicate_of}")
    elif body.duplicate_of:
        raise InvalidField("duplicate_of", "only allowed when reason is duplicate")

    def decide(ticket: Ticket) -> Change:
        fields = {"close_reason": body.reason.value, "duplicate_of": body.duplicate_of}
        data = _event_data(principal, previous_status=ticket.status.value)
        return Change("ticket.closed", principal.actor, S.CLOSED, fields=fields, data=data)

    return ActionResult(ticket=_apply(ctx, principal, ticket_id, expected_version, decide), notified=[])


# --- agency actions ---------------------------------------------------------------------------------


def reject(
    ctx: ApiContext, principal: Principal, ticket_id: str, body: RejectBody, expected_version: int | None
) -> ActionResult:
    """ "Bukan kewenangan kami": back to TRIAGE, off the agency's inbox, and the operators are told why."""
    require_role(principal, Role.AGENCY)

    def decide(ticket: Ticket) -> Change:
        _require_status(ticket, "reject", WITH_AGENCY)
        fields = {
            "agency_id": None,
            "due_at": None,
            "triage_reason": f"rejected by {principal.actor}: {body.reason}",
        }
        data = _event_data(principal, reason=body.reason)
        return Change("ticket.rejected", principal.actor, S.TRIAGE, fields=fields, data=data)

    ticket = _apply(ctx, principal, ticket_id, expected_version, decide)
    detail = {"reason": body.reason, "rejected_by": principal.agency_id}
    envelope = Envelope.build(MessageType.NEEDS_TRIAGE, ticket, ticket.updated_at, detail=detail)
    return _notify(ticket, [Outgoing("operators", ctx.operators_queue_url, envelope)])


def resolve(
    ctx: ApiContext, principal: Principal, ticket_id: str, body: ResolveBody, expected_version: int | None
) -> ActionResult:
    """The agency fixed it. Operators may record it for an agency that has no API user of its own."""
    require_role(principal, Role.AGENCY, Role.OPERATOR)

    def decide(ticket: Ticket) -> Change:
        _require_status(ticket, "resolve", WITH_AGENCY)
        data = _event_data(principal, note=body.note)
        return Change(
            "ticket.resolved", principal.actor, S.RESOLVED, fields={"resolved_at": ctx.now()}, data=data
        )

    return ActionResult(ticket=_apply(ctx, principal, ticket_id, expected_version, decide), notified=[])


# --- replies ----------------------------------------------------------------------------------------

REPLYABLE = frozenset({S.ASSIGNED, S.RESPONDED, S.RESOLVED})


def latest_citizen_tweet(ctx: ApiContext, ticket: Ticket) -> str:
    """The citizen's latest follow-up that still exists, else the original tweet: the reply goes there,
    so it lands at the end of the conversation the citizen is having with us."""
    latest = ticket.tweet_id
    deleted: set[str] = set()
    followups: list[str] = []
    for event in ctx.tickets.events(ticket.id):
        tweet_id = str(event.data.get("tweet_id") or "")
        if event.type == "ticket.followup" and event.actor == f"citizen:{ticket.author_id}" and tweet_id:
            followups.append(tweet_id)
        elif event.type == "followup.deleted" and tweet_id:
            deleted.add(tweet_id)
    for tweet_id in reversed(followups):
        if tweet_id not in deleted:
            return tweet_id
    return latest


def request_reply(
    ctx: ApiContext, principal: Principal, ticket_id: str, body: ReplyBody, expected_version: int | None
) -> ReplyAccepted:
    """Queue a public reply from the ticket's agency account; the ticket shows it as pending until the
    replier posts it (then RESPONDED) or X refuses it (then `last_reply_error`)."""
    require_role(principal, Role.AGENCY, Role.OPERATOR)
    # Imported here, not at the top: twitter-text compiles its URL and emoji regexes on import (~0.3-0.5 s),
    # and only this route needs them, so only a container's first reply pays for it (docs/decisions.md).
    from kemala.x.reply_text import InvalidReplyText, validate_reply_text

    try:
        checked = validate_reply_text(body.text)
    except InvalidReplyText as exc:
        raise InvalidField("text", str(exc)) from None
    reply_id = str(uuid.uuid4())
    made: dict[str, ReplyRequest] = {}

    def decide(ticket: Ticket) -> Change:
        _require_status(ticket, "reply to", REPLYABLE, "; delegate it to an agency first")
        if not ticket.agency_id:
            raise Conflict(f"ticket {ticket.id} has no agency whose account could reply; delegate it first")
        if ticket.pending_reply_id:
            raise ReplyPending(
                f"ticket {ticket.id} already has reply {ticket.pending_reply_id} waiting to be posted; "
                "try again once it is posted"
            )
        request = ReplyRequest(
            reply_id=reply_id,
            text=checked.text,
            in_reply_to_tweet_id=latest_citizen_tweet(ctx, ticket),
            agency_id=ticket.agency_id,
            requested_by=principal.actor,
        )
        made["request"] = request
        data = _event_data(
            principal,
            **request.model_dump(),
            text_sha256=text_digest(checked.text),
            weighted_length=checked.weighted_length,
        )
        return Change("reply.requested", principal.actor, fields={"pending_reply_id": reply_id}, data=data)

    ticket = _apply(ctx, principal, ticket_id, expected_version, decide)
    request = made["request"]
    envelope = Envelope.build(
        MessageType.REPLY_REQUESTED, ticket, ticket.updated_at, detail=request.model_dump()
    )
    try:
        send_envelopes(ctx.outbound_queue_url, [envelope])
    except QueueUnavailable:
        logger.exception(
            "reply not queued; cancelling it", extra={"ticket_id": ticket_id, "reply_id": reply_id}
        )
        _cancel_reply(ctx, ticket_id, reply_id, principal)
        raise Unavailable(
            "the reply could not be queued, so it was cancelled and nothing will be posted; send it again"
        ) from None
    return ReplyAccepted(
        ticket=ticket,
        notified=["outbound"],
        reply_id=reply_id,
        weighted_length=checked.weighted_length,
        in_reply_to_tweet_id=request.in_reply_to_tweet_id,
    )


def _cancel_reply(ctx: ApiContext, ticket_id: str, reply_id: str, principal: Principal) -> None:
    def build(ticket: Ticket) -> Change | None:
        if ticket.pending_reply_id != reply_id:
            return None
        data = _event_data(principal, reply_id=reply_id, reason="outbound queue unavailable")
        return Change("reply.cancelled", "system:api", fields={"pending_reply_id": None}, data=data)

    try:
        update_with_retry(ctx.tickets, ticket_id, build, ctx.now)
    except Exception:  # the 503 goes out anyway; the pending id then shows what happened
        logger.exception("could not cancel an unqueued reply", extra={"ticket_id": ticket_id})
