"""The router's logic: route a received ticket to its agency or to triage, and forward follow-ups.

For `ticket.received`:
1. Only a ticket still `RECEIVED` is routed (SQS delivers at least once). It is classified, the agency is
   resolved by jurisdiction (`decide`), and the ticket moves to `ASSIGNED` or `TRIAGE` with its audit
   event and an outbox entry holding the notification, all in one transaction.
2. The notification goes to the agency's queue (`ticket.assigned`) or to the operators
   (`ticket.needs_triage`), and the outbox entry is marked sent. A redelivered message finds any entry
   left unsent (the process died, or the send failed) and sends it then.
3. If the agency's queue cannot take it (missing, no access, ...), the ticket moves `ASSIGNED -> TRIAGE`
   with the reason on the ticket and its event, the operators are notified instead, and the outcome names
   the agency (the handler emits the `AgencyQueueUnreachable` metric). If the operators queue fails, the
   error propagates: the record fails and SQS retries it (then its DLQ). Nothing is lost.
4. With ACK_AGENCY_ID set, a first assignment also owes the citizen an acknowledgement
   (kemala.acknowledgement): a second outbox entry in the same transaction (`OUTBOX#<seq>#ack`), a
   `reply.requested` for OutboundQueue, sent only after the agency it names has been told (never if the
   ticket fell back to triage).

For `ticket.followup`: the message is forwarded, with the ticket's current snapshot and the same id, to
the ticket's agency (only that agency: it is its ticket) or, when there is none, to the operators.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from kemala.acknowledgement import ACK_AGENCY_PATTERN, acknowledgement, speaker
from kemala.ids import iso, utc_now
from kemala.models.messages import Envelope, MessageType
from kemala.models.ticket import Suggestion, Ticket, TicketStatus
from kemala.queues import QueueUnavailable, send_envelopes
from kemala.routing.registry import Registry
from kemala.routing.types import Agency, Classification, RouteDecision, RoutingResult
from kemala.settings import BaseSettings
from kemala.store.agencies import AgencyStore
from kemala.store.outbox import OPERATORS, Outbox, OutboxEntry
from kemala.store.tickets import Change, TicketNotFound, TicketStore, update_with_retry

ACTOR = "router"
SEND_LEASE_SECONDS = 30  # well under the routing queue's visibility timeout (180 s)
FOLLOWUP_OPEN = frozenset({TicketStatus.ASSIGNED, TicketStatus.RESPONDED, TicketStatus.RESOLVED})
ACK = "ack"  # the outbox part (and target prefix `ack:<assigned agency>`) of an acknowledgement


class RouterSettings(BaseSettings):
    """What functions/router needs. ROUTING_THRESHOLD overrides the model's own threshold."""

    directory_table: str = Field(min_length=1)
    operators_queue_url: str = Field(min_length=1)
    routing_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    outbound_queue_url: str = ""
    ack_agency_id: str = Field(default="", pattern=ACK_AGENCY_PATTERN)  # "" = no acknowledgements

    @field_validator("routing_threshold", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value  # the template passes "" when the parameter is empty

    @field_validator("ack_agency_id")
    @classmethod
    def _ack_needs_outbound(cls, value: str, info: ValidationInfo) -> str:
        if value and not info.data.get("outbound_queue_url"):
            raise ValueError("acknowledgements need OUTBOUND_QUEUE_URL as well")
        return value


class ClassifierLike(Protocol):
    threshold: float

    def classify(self, text: str, place: str | None = None) -> Classification: ...


Decide = Callable[[Classification, Registry, float], RoutingResult]


class UnsupportedMessage(ValueError):
    """A message type the routing queue must not carry: failed, so it ends in the DLQ and alarms."""


class RouteOutcome(BaseModel):
    """What the router did with one message (logged, and turned into metrics by the handler)."""

    model_config = ConfigDict(defer_build=True)

    ticket_id: str
    action: str  # assigned | triage | resent | skipped | followup_forwarded
    agency_id: str | None = None
    reason: str = ""
    notified: int = 0
    acknowledged: bool = False  # the citizen's acknowledgement was queued on OutboundQueue
    unreachable_agency: str | None = None  # the agency whose queue refused: AgencyQueueUnreachable


def _default_decide() -> Decide:
    from kemala.routing.decide import decide

    return decide


def _default_classifier() -> ClassifierLike:
    from kemala.routing.classifier import default_classifier

    return default_classifier()


@dataclass
class Router:
    store: TicketStore
    outbox: Outbox
    agencies: AgencyStore
    operators_queue_url: str
    threshold_override: float | None = None
    ack_agency_id: str = ""  # the agency whose X account acknowledges assignments; "" = off
    outbound_queue_url: str = ""
    classifier_factory: Callable[[], ClassifierLike] = _default_classifier
    decide_factory: Callable[[], Decide] = _default_decide
    sqs: Any = None
    now: Callable[[], datetime] = utc_now
    _classifier: ClassifierLike | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: RouterSettings) -> Router:
        return cls(
            store=TicketStore(settings.tickets_table),
            outbox=Outbox(settings.tickets_table),
            agencies=AgencyStore(settings.directory_table),
            operators_queue_url=settings.operators_queue_url,
            threshold_override=settings.routing_threshold,
            ack_agency_id=settings.ack_agency_id,
            outbound_queue_url=settings.outbound_queue_url,
        )

    @property
    def classifier(self) -> ClassifierLike:
        if self._classifier is None:
            self._classifier = self.classifier_factory()
        return self._classifier

    @property
    def threshold(self) -> float:
        return self.classifier.threshold if self.threshold_override is None else self.threshold_override

    def handle(self, envelope: Envelope) -> RouteOutcome:
        if envelope.type is MessageType.RECEIVED:
            return self.route_received(envelope.ticket.id)
        if envelope.type is MessageType.FOLLOWUP:
            return self.forward_followup(envelope)
        raise UnsupportedMessage(f"the routing queue does not take {envelope.type.value} messages")

    # --- ticket.received ------------------------------------------------------------------------------

    def route_received(self, ticket_id: str) -> RouteOutcome:
        owed: list[OutboxEntry] = []
        seen: list[Ticket] = []
        outcome = RouteOutcome(ticket_id=ticket_id, action="skipped")

        def build(ticket: Ticket) -> Change | None:
            owed.clear()
            seen[:] = [ticket]
            if ticket.status is not TicketStatus.RECEIVED:
                return None
            change, entry, result = self._routing_change(ticket)
            owed.append(entry)
            ack = self._with_ack(ticket, change)
            if ack is not None:
                owed.append(ack)
            outcome.action = "assigned" if change.status is TicketStatus.ASSIGNED else "triage"
            outcome.agency_id = entry.agency_id
            outcome.reason = str(change.fields.get("triage_reason") or result.reason)
            outcome.unreachable_agency = change.data.get("unreachable_agency")
            return change

        try:
            routed = update_with_retry(self.store, ticket_id, build, self._at)
        except TicketNotFound:
            return outcome.model_copy(update={"reason": "no such ticket"})
        if routed is None:
            # Already routed (a redelivery or a duplicate): send only what an earlier attempt left unsent.
            routed = seen[0]
            owed = self._claim_pending(routed)
            outcome.action = "resent" if owed else "skipped"
            outcome.reason = "" if owed else f"already {routed.status.value}"
        self._deliver_all(owed, routed, outcome)
        return outcome

    def _routing_change(self, ticket: Ticket) -> tuple[Change, OutboxEntry, RoutingResult]:
        registry = self.agencies.registry()
        classification = self.classifier.classify(ticket.text or "", ticket.place)
        threshold = self.threshold
        result = self.decide_factory()(classification, registry, threshold)
        suggestions = _suggestions(result, registry)
        agency = registry.get(result.agency) if result.agency else None
        data: dict[str, Any] = {
            "decision": result.decision.value,
            "reason": result.reason,
            "category": result.category,
            "confidence": round(result.confidence, 4),
            "threshold": threshold,
        }
        common = {
            "region": result.region,
            "confidence": round(result.confidence, 4),
            "suggestions": [s.model_dump(mode="json") for s in suggestions],
        }
        if result.decision is RouteDecision.AUTO and agency is not None and agency.queue_url:
            due = self.now() + timedelta(hours=agency.sla_hours)
            fields = {**common, "category": result.category, "agency_id": agency.id, "due_at": iso(due)}
            change = Change(
                type="ticket.routed", actor=ACTOR, status=TicketStatus.ASSIGNED, fields=fields, data=data
            )
            return (*self._with_entry(ticket, change, MessageType.ASSIGNED, agency), result)
        reason = result.reason
        if result.decision is RouteDecision.AUTO and agency is not None:
            reason = f"agency {agency.id} has no queue"
            data["unreachable_agency"] = agency.id
        fields = {**common, "triage_reason": reason}
        change = Change(
            type="ticket.routed", actor=ACTOR, status=TicketStatus.TRIAGE, fields=fields, data=data
        )
        return (*self._with_entry(ticket, change, MessageType.NEEDS_TRIAGE, None), result)

    def _with_entry(
        self, ticket: Ticket, change: Change, type_: MessageType, agency: Agency | None
    ) -> tuple[Change, OutboxEntry]:
        """Attach the outbox entry for the message this change owes (committed with the change)."""
        seq = ticket.version + 1
        reason = change.fields.get("triage_reason")
        detail = {"reason": reason} if type_ is MessageType.NEEDS_TRIAGE else {}
        if agency is not None and agency.queue_url:
            entry = OutboxEntry(ticket.id, seq, f"agency:{agency.id}", agency.queue_url, type_, detail)
        else:
            entry = OutboxEntry(ticket.id, seq, OPERATORS, self.operators_queue_url, type_, detail)
        change.data["notify"] = entry.target
        change.extra_items.append(self.outbox.put_entry(entry, int(time.time()) + SEND_LEASE_SECONDS))
        return change, entry

    def _with_ack(self, ticket: Ticket, change: Change) -> OutboxEntry | None:
        """The acknowledgement a first assignment owes (when configured), committed with the change."""
        if not self.ack_agency_id or change.status is not TicketStatus.ASSIGNED:
            return None
        registry = self.agencies.registry()  # cached: no extra read
        assigned = registry.get(str(change.fields["agency_id"]))
        account = speaker(registry.get, self.ack_agency_id)
        request = acknowledgement(ticket, assigned, account, ACTOR) if assigned else None
        if request is None or assigned is None:
            return None
        entry = OutboxEntry(
            ticket.id,
            ticket.version + 1,
            f"{ACK}:{assigned.id}",
            self.outbound_queue_url,
            MessageType.REPLY_REQUESTED,
            request.model_dump(),
            part=ACK,
        )
        change.fields["ack_reply_id"] = request.reply_id
        change.data["acknowledge_as"] = request.agency_id
        change.extra_items.append(self.outbox.put_entry(entry, int(time.time()) + SEND_LEASE_SECONDS))
        return entry

    def _claim_pending(self, ticket: Ticket) -> list[OutboxEntry]:
        """Unsent entries still meant for where the ticket is now; others are closed, not sent. An
        acknowledgement waits while another attempt holds its change's agency notification."""
        now, claimed, held_elsewhere = int(time.time()), [], set()
        for entry in self.outbox.pending(ticket.id):
            if not _still_owed(entry, ticket):
                self.outbox.close(entry, self._at(), f"ticket moved on to {ticket.status.value}")
            elif entry.part == ACK and entry.seq in held_elsewhere:
                continue  # that attempt sends it, or its redelivery will
            elif self.outbox.claim(entry, now, SEND_LEASE_SECONDS):
                claimed.append(entry)
            else:
                held_elsewhere.add(entry.seq)
        return claimed

    # --- delivery -------------------------------------------------------------------------------------

    def _deliver_all(self, owed: list[OutboxEntry], ticket: Ticket, outcome: RouteOutcome) -> None:
        """Notifications first; an acknowledgement only once the agency it names has been told."""
        acks = [entry for entry in owed if entry.part == ACK]
        for entry in owed:
            if entry.part == ACK:
                continue
            siblings = [ack for ack in acks if ack.seq == entry.seq]
            if not self._deliver(entry, ticket, outcome, siblings):
                acks = [ack for ack in acks if ack not in siblings]  # closed with the fallback
        for ack in acks:
            self._deliver(ack, ticket, outcome)

    def _deliver(
        self, entry: OutboxEntry, ticket: Ticket, outcome: RouteOutcome, acks: list[OutboxEntry] | None = None
    ) -> bool:
        """Send `entry`'s message about `ticket` (as it is now), then mark it sent. False when the agency
        could not be told and the ticket fell back to triage (`acks`, owed by the same change, closed)."""
        try:
            send_envelopes(entry.queue_url, [entry.envelope(ticket, self._at())], client=self._sqs())
        except QueueUnavailable as exc:
            if entry.agency_id is None:
                self.outbox.release(entry)
                raise  # the operators or outbound queue itself: fail the record, SQS retries
            outcome.unreachable_agency = entry.agency_id
            self._fall_back_to_triage(entry, str(exc), outcome, acks or [])
            return False
        self.outbox.mark_sent(entry, self._at())
        if entry.part == ACK:
            outcome.acknowledged = True
        else:
            outcome.notified += 1
        return True

    def _fall_back_to_triage(
        self, failed: OutboxEntry, error: str, outcome: RouteOutcome, acks: list[OutboxEntry]
    ) -> None:
        """ASSIGNED -> TRIAGE because the agency cannot be told; the operators are told instead. The
        acknowledgement naming that agency is closed unsent, so the operator's delegation gives one."""
        reason = f"agency {failed.agency_id} queue unreachable: {error}"[:500]
        owed: list[OutboxEntry] = []

        def build(ticket: Ticket) -> Change | None:
            owed.clear()
            closing = [self.outbox.close_entry(failed, self._at(), f"unreachable: {error}"[:500])]
            closing += [
                self.outbox.close_entry(ack, self._at(), "not sent: its agency was not told") for ack in acks
            ]
            unacked = {"ack_reply_id": None} if acks and ticket.ack_reply_id else {}
            if ticket.status is not TicketStatus.ASSIGNED or ticket.agency_id != failed.agency_id:
                change = Change(
                    type="notification.dropped", actor=ACTOR, fields=unacked, data={"seq": failed.seq}
                )
                change.extra_items += closing  # someone moved it meanwhile: theirs to notify
                return change
            change = Change(
                type="ticket.agency_unreachable",
                actor=ACTOR,
                status=TicketStatus.TRIAGE,
                fields={"agency_id": None, "due_at": None, "triage_reason": reason, **unacked},
                data={"unreachable_agency": failed.agency_id, "error": error[:500], "seq": failed.seq},
                extra_items=closing,
            )
            change, entry = self._with_entry(ticket, change, MessageType.NEEDS_TRIAGE, None)
            owed.append(entry)
            return change

        triaged = update_with_retry(self.store, failed.ticket_id, build, self._at)
        outcome.action, outcome.agency_id, outcome.reason = "triage", None, reason
        for entry in owed:
            assert triaged is not None
            self._deliver(entry, triaged, outcome)

    # --- ticket.followup ------------------------------------------------------------------------------

    def forward_followup(self, envelope: Envelope) -> RouteOutcome:
        ticket = self.store.get(envelope.ticket.id)
        outcome = RouteOutcome(ticket_id=envelope.ticket.id, action="followup_forwarded")
        if ticket is None:
            return outcome.model_copy(update={"action": "skipped", "reason": "no such ticket"})
        forwarded = envelope.model_copy(update={"ticket": type(envelope.ticket).of(ticket)})
        agency = self._agency_of(ticket)
        if agency is not None and agency.queue_url:
            try:
                send_envelopes(agency.queue_url, [forwarded], client=self._sqs())
                outcome.agency_id, outcome.notified = agency.id, 1
                return outcome
            except QueueUnavailable as exc:
                outcome.unreachable_agency = agency.id
                detail = {**forwarded.detail, "agency_unreachable": f"{agency.id}: {exc}"[:500]}
                forwarded = forwarded.model_copy(update={"detail": detail})
        send_envelopes(self.operators_queue_url, [forwarded], client=self._sqs())
        outcome.notified = 1
        return outcome

    def _agency_of(self, ticket: Ticket) -> Agency | None:
        if ticket.status not in FOLLOWUP_OPEN or not ticket.agency_id:
            return None
        return self.agencies.registry().get(ticket.agency_id) or self.agencies.get(ticket.agency_id)

    # --- helpers --------------------------------------------------------------------------------------

    def _sqs(self) -> Any:
        if self.sqs is None:
            from kemala import aws

            self.sqs = aws.client("sqs")
        return self.sqs

    def _at(self) -> str:
        return iso(self.now())


def _still_owed(entry: OutboxEntry, ticket: Ticket) -> bool:
    if entry.part == ACK:  # while the ticket is with the agency the acknowledgement names
        return ticket.status in FOLLOWUP_OPEN and entry.target == f"{ACK}:{ticket.agency_id}"
    if entry.agency_id is None:
        return ticket.status is TicketStatus.TRIAGE
    return ticket.status in FOLLOWUP_OPEN and ticket.agency_id == entry.agency_id


def _suggestions(result: RoutingResult, registry: Registry) -> list[Suggestion]:
    """The router's candidates, best first, each with the agency it would resolve to: shown to the
    operators, and kept so that the operator's eventual delegation is a labelled example to compare."""
    candidates = [(result.category, result.confidence)] + [
        (alt.category, alt.confidence) for alt in result.alternatives if alt.category != result.category
    ]
    suggestions = []
    for category, confidence in candidates:
        agency = registry.resolve(category, result.region)
        suggestions.append(
            Suggestion(
                category=category, confidence=round(confidence, 4), agency_id=agency.id if agency else None
            )
        )
    return suggestions
