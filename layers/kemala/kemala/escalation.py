"""SLA escalation: ASSIGNED tickets past their `due_at` are escalated, and the agency and operators told.

Levels: 1 once the ticket is overdue, 2 once it is overdue by another full SLA period of its agency
(`sla_hours`); 2 is the top. A run acts only when a ticket's level must go up, so runs are idempotent: a
ticket at level N is not escalated to N again.

Each escalation is an audited change (`ticket.escalated`, no status change) that also sets
`escalation_notice_owed = N`, written before anything is sent. The `ticket.escalated` messages then go to
the agency's queue and to the operators (batched per queue); once both queues took them, a second audited
change (`ticket.escalation_notified`) clears `escalation_notice_owed`. A send that fails leaves it set,
and the next run resends (same message ids) for every overdue ticket whose current level is still owed,
without escalating it again. Both writes use optimistic locking: a concurrent agency or operator action
wins, and the next run re-evaluates the ticket.

Only ASSIGNED tickets escalate (docs/decisions.md "Escalation"): RESPONDED tickets have had their public
answer, and TRIAGE tickets are already with the operators.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kemala.ids import iso, parse_iso, utc_now
from kemala.models.messages import Envelope, MessageType
from kemala.models.ticket import Ticket, TicketStatus
from kemala.queues import QueueUnavailable, send_envelopes
from kemala.routing.types import Agency
from kemala.settings import BaseSettings
from kemala.store.agencies import AgencyStore
from kemala.store.ticket_index import IndexQuery, PageKey, TicketIndex, status_partition
from kemala.store.tickets import Change, StaleTicket, TicketStore, update_with_retry

ACTOR = "system:escalator"
MAX_LEVEL = 2
ESCALATED_STATUS = TicketStatus.ASSIGNED
DEFAULT_SLA_HOURS = 72  # the Agency model's default, for a ticket whose agency left the registry
OPERATORS = "operators"
PAGE_SIZE = 100


class EscalatorSettings(BaseSettings):
    """What functions/escalator needs (TICKETS_TABLE and DIRECTORY_TABLE come from the Globals)."""

    directory_table: str = Field(min_length=1)
    operators_queue_url: str = Field(min_length=1)
    max_escalations_per_run: int = Field(default=500, gt=0)  # escalations and resends written per run
    max_scanned_per_run: int = Field(default=5000, gt=0)  # overdue tickets read per run


class EscalationRun(BaseModel):
    """What one run did (logged, and turned into metrics by the handler)."""

    model_config = ConfigDict(defer_build=True)

    overdue: int = 0  # overdue ASSIGNED tickets read
    escalated: int = 0  # tickets whose level went up
    resent: int = 0  # tickets whose owed notice was sent again
    notified: int = 0  # tickets whose notice both queues took
    not_sent: int = 0  # tickets whose notice a queue refused (EscalationNotSent; the next run resends)
    lost_races: int = 0  # a concurrent change won; the next run re-evaluates
    capped: bool = False  # a per-run limit stopped the run early (the next run continues)
    levels: dict[str, int] = Field(default_factory=dict)  # escalations by new level


def target_level(due_at: str, now: datetime, sla_hours: int) -> int:
    """0 before `due_at`; 1 once past it; +1 per further full SLA period, up to MAX_LEVEL."""
    overdue = now - parse_iso(due_at)
    if overdue <= timedelta(0):
        return 0
    return min(MAX_LEVEL, 1 + int(overdue / timedelta(hours=sla_hours)))


def overdue_hours(due_at: str, now: datetime) -> float:
    return round((now - parse_iso(due_at)) / timedelta(hours=1), 2)


@dataclass(frozen=True)
class Notice:
    """The `ticket.escalated` messages owed for `ticket` at `level`: to its agency (when it has a queue)
    and to the operators."""

    ticket: Ticket
    level: int
    agency: Agency | None

    @property
    def targets(self) -> list[tuple[str, str]]:
        """(target, queue_url) pairs; the operators' queue URL is filled in by the caller."""
        if self.agency is not None and self.agency.queue_url:
            return [(f"agency:{self.agency.id}", self.agency.queue_url)]
        return []

    def envelope(self, now: datetime, sla_hours: int) -> Envelope:
        """Same id for the same (ticket, level, deadline), however often it is resent."""
        due_at = self.ticket.due_at or ""
        detail = {
            "level": self.level,
            "due_at": due_at,
            "sla_hours": sla_hours,
            "overdue_hours": overdue_hours(due_at, now),
            "agency_notified": bool(self.targets),
        }
        return Envelope.build(
            MessageType.ESCALATED,
            self.ticket,
            iso(now),
            detail=detail,
            discriminator=f"escalated-{self.level}-{due_at}",
        )


@dataclass
class Escalator:
    store: TicketStore
    agencies: AgencyStore
    operators_queue_url: str
    max_escalations: int = 500
    max_scanned: int = 5000
    sqs: Any = None

    @classmethod
    def from_settings(cls, settings: EscalatorSettings) -> Escalator:
        return cls(
            store=TicketStore(settings.tickets_table),
            agencies=AgencyStore(settings.directory_table),
            operators_queue_url=settings.operators_queue_url,
            max_escalations=settings.max_escalations_per_run,
            max_scanned=settings.max_scanned_per_run,
        )

    def run(self, now: datetime | None = None) -> EscalationRun:
        """Escalate what is due at `now` (default: the clock), then send every notice owed."""
        at = now or utc_now()
        outcome = EscalationRun()
        owed: list[Notice] = []
        for ticket in self._overdue(at, outcome):
            if len(owed) >= self.max_escalations:
                outcome.capped = True
                break
            notice = self._escalate(ticket, at, outcome)
            if notice is not None:
                owed.append(notice)
        self._send(owed, at, outcome)
        return outcome

    # --- reading -------------------------------------------------------------------------------------

    def _overdue(self, now: datetime, outcome: EscalationRun) -> Iterator[Ticket]:
        """ASSIGNED tickets whose `due_at` is before `now`, earliest first (StatusBoard is sorted by it)."""
        index = TicketIndex(self.store)
        query = IndexQuery("StatusBoard", status_partition(ESCALATED_STATUS))
        cutoff = iso(now)
        start: PageKey | None = None
        while True:
            page, start = index.page(query, start, PAGE_SIZE)
            for ticket in page:
                if ticket.due_at is None:
                    continue  # never set on an ASSIGNED ticket; sorted by created_at, so keep reading
                if ticket.due_at >= cutoff or outcome.overdue >= self.max_scanned:
                    outcome.capped = outcome.capped or ticket.due_at < cutoff
                    return
                outcome.overdue += 1
                yield ticket
            if start is None:
                return

    def _sla_hours(self, agency: Agency | None) -> int:
        return agency.sla_hours if agency is not None else DEFAULT_SLA_HOURS

    def _agency(self, ticket: Ticket) -> Agency | None:
        return self.agencies.registry().get(ticket.agency_id) if ticket.agency_id else None

    # --- writing -------------------------------------------------------------------------------------

    def _escalate(self, seen: Ticket, now: datetime, outcome: EscalationRun) -> Notice | None:
        """Raise the ticket's level if it must go up; the notice owed for it, if any."""
        agency = self._agency(seen)
        sla_hours = self._sla_hours(agency)

        def build(ticket: Ticket) -> Change | None:
            if ticket.status is not ESCALATED_STATUS or ticket.due_at is None:
                return None
            level = target_level(ticket.due_at, now, sla_hours)
            if level <= ticket.escalation_level:
                return None
            return Change(
                type="ticket.escalated",
                actor=ACTOR,
                fields={"escalation_level": level, "escalation_notice_owed": level},
                data={
                    "overdue_hours": overdue_hours(ticket.due_at, now),
                    "due_at": ticket.due_at,
                    "sla_hours": sla_hours,
                    "previous_level": ticket.escalation_level,
                },
            )

        try:
            escalated = update_with_retry(self.store, seen.id, build, lambda: iso(now), attempts=4, seen=seen)
        except StaleTicket:
            outcome.lost_races += 1
            return None
        if escalated is not None:
            outcome.escalated += 1
            key = str(escalated.escalation_level)
            outcome.levels[key] = outcome.levels.get(key, 0) + 1
            return Notice(escalated, escalated.escalation_level, agency)
        if seen.escalation_level and seen.escalation_notice_owed == seen.escalation_level:
            outcome.resent += 1  # an earlier run escalated it but a queue did not take the notice
            return Notice(seen, seen.escalation_level, agency)
        return None

    def _send(self, owed: list[Notice], now: datetime, outcome: EscalationRun) -> None:
        """Batch the messages per queue; mark each notice sent once every queue it targets took it."""
        batches: dict[str, list[Envelope]] = {}
        envelopes: list[tuple[Notice, Envelope]] = []
        for notice in owed:
            envelope = notice.envelope(now, self._sla_hours(notice.agency))
            envelopes.append((notice, envelope))
            for _, queue_url in [*notice.targets, (OPERATORS, self.operators_queue_url)]:
                batches.setdefault(queue_url, []).append(envelope)
        failed: set[str] = set()
        for queue_url, batch in batches.items():
            try:
                send_envelopes(queue_url, batch, client=self._sqs())
            except QueueUnavailable as exc:
                failed.update(exc.failed_ids)
        for notice, envelope in envelopes:
            if envelope.id in failed:
                outcome.not_sent += 1
                continue
            if self._mark_notified(notice, now):
                outcome.notified += 1

    def _mark_notified(self, notice: Notice, now: datetime) -> bool:
        """Clear `escalation_notice_owed` with an audited event naming who was told."""
        told = [target for target, _ in notice.targets] + [OPERATORS]

        def build(ticket: Ticket) -> Change | None:
            if ticket.escalation_notice_owed != notice.level:
                return None  # moved on meanwhile (reassigned, escalated further): nothing to clear
            return Change(
                type="ticket.escalation_notified",
                actor=ACTOR,
                fields={"escalation_notice_owed": None},
                data={"level": notice.level, "notified": told},
            )

        try:
            applied = update_with_retry(
                self.store, notice.ticket.id, build, lambda: iso(now), attempts=4, seen=notice.ticket
            )
            return applied is not None
        except StaleTicket:
            return False  # still owed: the next run resends (same message id) and marks it then

    def _sqs(self) -> Any:
        if self.sqs is None:
            from kemala import aws

            self.sqs = aws.client("sqs")
        return self.sqs
