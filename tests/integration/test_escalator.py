"""functions/escalator on moto: tickets made by the real webhook and router, escalated on an injected clock.

Tickets are routed to Kabupaten Grobogan's roads agency (72 h SLA, config/agencies.yaml), so level 1 falls
due at `due_at` and level 2 one SLA period later. Every message read is checked against docs/schemas/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from kemala import aws
from kemala.escalation import Escalator, target_level
from kemala.ids import iso, parse_iso
from kemala.models.ticket import Ticket, TicketStatus
from kemala.store.tickets import Change
from kemala_cli.lambda_loader import load_function

from tests.integration.test_router import (
    CLEAR,
    GROBOGAN_ROADS,
    UNSURE,
    Harness,
    applied,  # noqa: F401  (fixture)
    stubbed,  # noqa: F401  (fixture)
)
from tests.integration.test_webhook import _context

SLA = timedelta(hours=72)


class Flow:
    """Complaints in through the webhook and router; the escalator run at a chosen time."""

    def __init__(self, routing: Harness, escalator: ModuleType) -> None:
        self.routing = routing
        self.module = escalator
        self.escalator: Escalator = escalator.escalator

    def assigned(self, text: str = CLEAR) -> Ticket:
        ticket_id, _ = self.routing.complain(text)
        self.routing.route_all()
        ticket = self.routing.ticket(ticket_id)
        assert ticket.status is TicketStatus.ASSIGNED and ticket.due_at is not None
        self.routing.agency_messages(GROBOGAN_ROADS)  # drain the ticket.assigned notification
        return ticket

    def run(self, at: datetime) -> dict[str, Any]:
        return self.escalator.run(at).model_dump()

    def escalations(self, ticket_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (e.type, e.set)
            for e in self.routing.store.events(ticket_id)
            if e.type.startswith("ticket.escalat")
        ]


@pytest.fixture
def flow(stubbed: Harness) -> Flow:  # noqa: F811
    return Flow(stubbed, load_function("escalator"))


def due(ticket: Ticket) -> datetime:
    assert ticket.due_at is not None
    return parse_iso(ticket.due_at)


def test_level_rule() -> None:
    at = datetime(2026, 12, 4, tzinfo=UTC)
    due_at = iso(at)
    assert target_level(due_at, at, 72) == 0  # due, not yet overdue
    assert target_level(due_at, at + timedelta(seconds=1), 72) == 1
    assert target_level(due_at, at + SLA - timedelta(seconds=1), 72) == 1
    assert target_level(due_at, at + SLA, 72) == 2
    assert target_level(due_at, at + 10 * SLA, 72) == 2  # the top level


def test_overdue_ticket_is_escalated_once_and_both_queues_told(flow: Flow) -> None:
    ticket = flow.assigned()
    at = due(ticket) + timedelta(minutes=5)

    outcome = flow.run(at)

    assert (outcome["escalated"], outcome["notified"], outcome["not_sent"]) == (1, 1, 0)
    stored = flow.routing.ticket(ticket.id)
    assert stored.escalation_level == 1 and stored.escalation_notice_owed is None
    assert stored.status is TicketStatus.ASSIGNED
    assert flow.escalations(ticket.id) == [
        ("ticket.escalated", {"escalation_level": 1, "escalation_notice_owed": 1}),
        ("ticket.escalation_notified", {"escalation_notice_owed": None}),
    ]
    escalated = flow.routing.store.events(ticket.id)[-2]
    assert escalated.actor == "system:escalator"
    assert escalated.data["due_at"] == ticket.due_at and escalated.data["overdue_hours"] == 0.08
    flow.routing.event_types(ticket.id)  # the hash chain verifies
    agency = flow.routing.agency_messages(GROBOGAN_ROADS)  # validated against docs/schemas/
    operators = flow.routing.operators()
    assert [m["type"] for m in agency] == [m["type"] for m in operators] == ["ticket.escalated"]
    assert agency[0]["id"] == operators[0]["id"]
    assert agency[0]["detail"]["level"] == 1 and agency[0]["detail"]["due_at"] == ticket.due_at
    assert agency[0]["ticket"]["agency_id"] == GROBOGAN_ROADS

    again = flow.run(at)  # the next run at the same time: nothing to do

    assert (again["overdue"], again["escalated"], again["resent"]) == (1, 0, 0)
    assert len(flow.escalations(ticket.id)) == 2
    assert flow.routing.agency_messages(GROBOGAN_ROADS) == flow.routing.operators() == []


def test_one_sla_period_later_the_ticket_goes_to_level_two(flow: Flow) -> None:
    ticket = flow.assigned()
    flow.run(due(ticket) + timedelta(minutes=5))
    flow.routing.agency_messages(GROBOGAN_ROADS)
    flow.routing.operators()

    assert flow.run(due(ticket) + SLA - timedelta(minutes=1))["escalated"] == 0
    outcome = flow.run(due(ticket) + SLA + timedelta(minutes=1))

    assert outcome["escalated"] == 1 and outcome["levels"] == {"2": 1}
    assert flow.routing.ticket(ticket.id).escalation_level == 2
    agency = flow.routing.agency_messages(GROBOGAN_ROADS)
    operators = flow.routing.operators()
    assert [m["detail"]["level"] for m in agency] == [m["detail"]["level"] for m in operators] == [2]
    assert flow.run(due(ticket) + 5 * SLA)["escalated"] == 0  # 2 is the top level


def test_a_ticket_not_yet_due_is_untouched(flow: Flow) -> None:
    ticket = flow.assigned()

    outcome = flow.run(due(ticket) - timedelta(minutes=1))

    assert (outcome["overdue"], outcome["escalated"]) == (0, 0)
    stored = flow.routing.ticket(ticket.id)
    assert stored.version == ticket.version and stored.escalation_level == 0
    assert flow.routing.agency_messages(GROBOGAN_ROADS) == flow.routing.operators() == []


@pytest.mark.parametrize("status", [TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.RESPONDED])
def test_resolved_closed_and_responded_tickets_are_never_escalated(flow: Flow, status: TicketStatus) -> None:
    ticket = flow.assigned()
    done = flow.routing.store.apply(
        ticket, Change("ticket.test", "operator", status=status), iso(due(ticket) - timedelta(hours=1))
    )

    outcome = flow.run(due(ticket) + 3 * SLA)

    assert (outcome["overdue"], outcome["escalated"]) == (0, 0)
    assert flow.routing.ticket(ticket.id).version == done.version
    assert flow.routing.agency_messages(GROBOGAN_ROADS) == flow.routing.operators() == []


def test_triage_tickets_are_not_escalated(flow: Flow) -> None:
    ticket_id, _ = flow.routing.complain(UNSURE)
    flow.routing.route_all()
    flow.routing.operators()
    created = parse_iso(flow.routing.ticket(ticket_id).created_at)

    assert flow.run(created + 10 * SLA)["escalated"] == 0
    assert flow.routing.operators() == []


class RefusingSqs:
    """The real (moto) SQS client, except that sends to one queue fail as an outage would."""

    def __init__(self, refused_url: str) -> None:
        self.real = aws.client("sqs")
        self.refused_url = refused_url

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if QueueUrl == self.refused_url:
            return {
                "Successful": [],
                "Failed": [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in Entries],
            }
        return dict(self.real.send_message_batch(QueueUrl=QueueUrl, Entries=Entries))


def test_a_refused_agency_send_is_resent_by_the_next_run_without_escalating_again(flow: Flow) -> None:
    ticket = flow.assigned()
    at = due(ticket) + timedelta(minutes=5)
    agency_url = flow.escalator.agencies.registry().get(GROBOGAN_ROADS).queue_url  # type: ignore[union-attr]
    flow.escalator.sqs = RefusingSqs(agency_url)

    first = flow.run(at)

    assert (first["escalated"], first["notified"], first["not_sent"]) == (1, 0, 1)
    assert flow.routing.ticket(ticket.id).escalation_notice_owed == 1
    assert flow.routing.agency_messages(GROBOGAN_ROADS) == []
    told_first = flow.routing.operators()
    assert [m["type"] for m in told_first] == ["ticket.escalated"]

    flow.escalator.sqs = None  # the agency's queue is back
    second = flow.run(at + timedelta(minutes=15))

    assert (second["escalated"], second["resent"], second["notified"], second["not_sent"]) == (0, 1, 1, 0)
    stored = flow.routing.ticket(ticket.id)
    assert stored.escalation_level == 1 and stored.escalation_notice_owed is None
    assert [t for t, _ in flow.escalations(ticket.id)] == ["ticket.escalated", "ticket.escalation_notified"]
    agency = flow.routing.agency_messages(GROBOGAN_ROADS)
    assert [m["detail"]["level"] for m in agency] == [1]
    assert agency[0]["id"] == told_first[0]["id"]  # the same message: consumers drop the operators' copy
    assert [m["id"] for m in flow.routing.operators()] == [told_first[0]["id"]]
    assert flow.run(at + timedelta(minutes=30))["resent"] == 0


def test_aws_requests_per_escalated_ticket(flow: Flow) -> None:
    tickets = [flow.assigned(CLEAR.replace("km 12", f"km {n}")) for n in (12, 13, 14)]
    at = max(due(t) for t in tickets) + timedelta(minutes=5)
    flow.escalator.agencies.registry()  # warm, as after the first run of a container
    calls: list[str] = []
    for service in ("dynamodb", "sqs"):
        aws.client(service).meta.events.register(
            "before-call.*.*", lambda model, **_: calls.append(model.name), unique_id="count-escalator"
        )

    assert flow.run(at)["escalated"] == 3

    # one index query; per ticket: escalate (ticket + event), mark notified (ticket + event);
    # per queue: one batch of up to ten notices
    assert sorted(calls) == sorted(["Query"] + ["TransactWriteItems"] * 6 + ["SendMessageBatch"] * 2)


def test_handler_runs_on_the_schedule_event(flow: Flow) -> None:
    flow.assigned()
    event = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}

    result = flow.module.lambda_handler(event, _context())

    assert result["escalated"] == 0 and result["overdue"] == 0  # due in 72 h by the real clock
