"""The acknowledgement (issue 4, optional): the province's account tells the citizen the ticket's reference
code and agency when the ticket is first assigned, through the same outbound path as any reply.

The router runs on the real Central Java registry (config/agencies.yaml, `jateng-diskominfo` speaking for
the province), tickets come in through the signed webhook, the replier posts to the fake X API (which
validates every body against X's OpenAPI `createPosts` and verifies the OAuth 1.0a signature), and the API
delegates as an operator would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import kemala.routing.router as router_logic
import pytest
from kemala import aws as kemala_aws
from kemala.acknowledgement import ack_reply_id, ack_text
from kemala.ids import iso, utc_now
from kemala.models.replies import ReplyRequest
from kemala.models.ticket import Ticket, TicketStatus
from kemala.routing.types import Agency, AgencyLevel
from kemala.store.agencies import AgencyStore
from kemala.store.tickets import Change, update_with_retry
from kemala.x.reply_text import validate_reply_text
from kemala_cli.fake_x import FakeX
from kemala_cli.lambda_loader import load_function

from tests.conftest import Stack
from tests.integration.test_api import AGENCY_ROADS, AGENCY_WATER, OPERATOR, ROADS, WATER, Api
from tests.integration.test_replier import Clock, Replier
from tests.integration.test_router import (
    CLEAR,
    GROBOGAN_ROADS,
    UNSURE,
    Harness,
    _harness,
    _metric,
    applied,  # noqa: F401  (fixture)
    stubbed,  # noqa: F401  (fixture)
)
from tests.unit.test_schemas import assert_valid_message

SPEAKER = "jateng-diskominfo"  # config/agencies.yaml: the province's own account
SPEAKER_USER_ID = "1100000000000000112"
GROBOGAN_ROADS_NAME = "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Grobogan"
GROBOGAN_USER_ID = "1100000000000000501"


def _creds(user_id: str, name: str) -> dict[str, str]:
    return {
        "consumer_key": "ck-kemala-app",
        "consumer_secret": "cs-kemala-app-secret",
        "access_token": f"{user_id}-{name}Token",
        "access_token_secret": f"ts-{name}-secret",
    }


def outbound_jobs(stack: Stack) -> list[dict[str, Any]]:
    """Drain OutboundQueue; every message must match docs/schemas and the ReplyRequest contract."""
    messages = stack.receive_all("OutboundQueue")
    for message in messages:
        assert_valid_message(message)
        ReplyRequest.model_validate(message["detail"])
    return messages


def outbox_items(stack: Stack, ticket_id: str) -> list[dict[str, Any]]:
    items = stack.ddb.query(
        TableName=stack.tables["TicketsTable"],
        KeyConditionExpression="pk = :pk AND begins_with(sk, :o)",
        ExpressionAttributeValues={":pk": {"S": f"TICKET#{ticket_id}"}, ":o": {"S": "OUTBOX#"}},
    )["Items"]
    return items  # type: ignore[no-any-return]


@pytest.fixture
def ack_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """AcknowledgementAccount=jateng-diskominfo, as template.yaml passes it (ACK_AGENCY_ID)."""
    monkeypatch.setenv("ACK_AGENCY_ID", SPEAKER)


@pytest.fixture
def routing(applied: Stack, ack_on: None) -> Harness:  # noqa: F811
    return _harness(applied, model=False)


# --- the router -------------------------------------------------------------------------------------


def test_assignment_queues_one_acknowledgement_naming_the_code_and_the_agency(routing: Harness) -> None:
    ticket_id, tweet_id = routing.complain(CLEAR)
    assert routing.route_all() == {"batchItemFailures": []}
    ticket = routing.ticket(ticket_id)
    assert ticket.status is TicketStatus.ASSIGNED and ticket.agency_id == GROBOGAN_ROADS
    assert [m["type"] for m in routing.agency_messages(GROBOGAN_ROADS)] == ["ticket.assigned"]

    (job,) = outbound_jobs(routing.stack)
    assert job["type"] == "reply.requested" and job["ticket"]["id"] == ticket_id
    request = ReplyRequest.model_validate(job["detail"])
    assert request.kind == "ack"
    assert request.reply_id == ack_reply_id(ticket_id) == ticket.ack_reply_id
    assert (request.agency_id, request.in_reply_to_tweet_id, request.requested_by) == (
        SPEAKER,
        tweet_id,
        "router",
    )
    assert request.text == (
        f"Terima kasih, aduan Anda tercatat dengan kode {ticket.ref} dan diteruskan ke "
        f"{GROBOGAN_ROADS_NAME}. Pantau tindak lanjutnya di sini."
    )
    assert validate_reply_text(request.text).weighted_length <= 280
    routed = routing.store.events(ticket_id)[-1]
    assert routed.type == "ticket.routed" and routed.set["ack_reply_id"] == request.reply_id
    assert routed.data["acknowledge_as"] == SPEAKER


def test_an_acknowledged_routing_costs_two_more_aws_requests_than_a_plain_one(routing: Harness) -> None:
    calls = routing.requests_to_route(CLEAR)
    # read; ticket + event + both outbox entries in one transaction; notify + mark; acknowledge + mark
    assert calls == [
        "GetItem",
        "TransactWriteItems",
        "SendMessageBatch",
        "UpdateItem",
        "SendMessageBatch",
        "UpdateItem",
    ]


def test_no_acknowledgement_when_the_setting_is_empty(stubbed: Harness) -> None:  # noqa: F811
    ticket_id, _ = stubbed.complain(CLEAR)
    stubbed.route_all()
    assert stubbed.ticket(ticket_id).status is TicketStatus.ASSIGNED
    assert stubbed.ticket(ticket_id).ack_reply_id is None
    assert outbound_jobs(stubbed.stack) == []
    assert len(outbox_items(stubbed.stack, ticket_id)) == 1  # the agency's notification only


def test_triage_gets_no_acknowledgement(routing: Harness) -> None:
    ticket_id, _ = routing.complain(UNSURE)
    routing.route_all()
    assert routing.ticket(ticket_id).status is TicketStatus.TRIAGE
    assert routing.ticket(ticket_id).ack_reply_id is None
    assert outbound_jobs(routing.stack) == []


def test_redelivered_routing_message_still_queues_one_acknowledgement(routing: Harness) -> None:
    ticket_id, _ = routing.complain(CLEAR)
    bodies = routing.routing_messages()
    assert routing.run(bodies + bodies) == {"batchItemFailures": []}
    assert routing.run(bodies) == {"batchItemFailures": []}
    assert len(outbound_jobs(routing.stack)) == 1
    assert len(routing.agency_messages(GROBOGAN_ROADS)) == 1
    assert routing.event_types(ticket_id) == ["ticket.created", "ticket.routed"]


def test_outbound_queue_failure_fails_the_record_and_the_redelivery_sends_the_ack_once(
    routing: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket_id, _ = routing.complain(CLEAR)
    bodies = routing.routing_messages()
    real_send = router_logic.send_envelopes
    outbound = routing.stack.queues["OutboundQueue"]

    def outbound_down(queue_url: str, envelopes: Any, client: Any = None) -> None:
        if queue_url == outbound:
            raise router_logic.QueueUnavailable("SQS did not accept 1 message(s): throttled", ["x"])
        real_send(queue_url, envelopes, client=client)

    monkeypatch.setattr(router_logic, "send_envelopes", outbound_down)
    assert len(routing.run(bodies)["batchItemFailures"]) == 1  # SQS will redeliver it
    assert routing.ticket(ticket_id).status is TicketStatus.ASSIGNED
    assert [m["type"] for m in routing.agency_messages(GROBOGAN_ROADS)] == ["ticket.assigned"]
    assert outbound_jobs(routing.stack) == []

    monkeypatch.setattr(router_logic, "send_envelopes", real_send)
    assert routing.run(bodies) == {"batchItemFailures": []}  # the lease was released: sent at once
    assert [ReplyRequest.model_validate(j["detail"]).kind for j in outbound_jobs(routing.stack)] == ["ack"]
    assert routing.agency_messages(GROBOGAN_ROADS) == []  # the agency is not told twice
    assert routing.run(bodies) == {"batchItemFailures": []}
    assert outbound_jobs(routing.stack) == []
    assert routing.module.router.outbox.pending(ticket_id) == []


def _routed_then_crashed(routing: Harness, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    """A ticket ASSIGNED (both outbox entries written, both leases held) by an attempt that died before
    sending anything; returns the ticket id and the routing message to redeliver."""
    ticket_id, _ = routing.complain(CLEAR)
    bodies = routing.routing_messages()
    real_send = router_logic.send_envelopes
    monkeypatch.setattr(router_logic, "send_envelopes", _crash)
    assert len(routing.run(bodies)["batchItemFailures"]) == 1
    monkeypatch.setattr(router_logic, "send_envelopes", real_send)
    return ticket_id, bodies


def _crash(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("Lambda timed out")


def _after_the_leases(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQS redelivers after the visibility timeout (180 s), when the 30 s send leases have lapsed."""
    later = router_logic.time.time() + 200
    monkeypatch.setattr(router_logic.time, "time", lambda: later)


def test_crash_before_any_send_is_healed_with_one_notification_and_one_ack(
    routing: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket_id, bodies = _routed_then_crashed(routing, monkeypatch)
    assert routing.run(bodies) == {"batchItemFailures": []}  # a duplicate within the lease: sends nothing
    assert outbound_jobs(routing.stack) == [] and routing.agency_messages(GROBOGAN_ROADS) == []
    _after_the_leases(monkeypatch)
    assert routing.run(bodies) == {"batchItemFailures": []}
    assert len(routing.agency_messages(GROBOGAN_ROADS)) == 1
    assert len(outbound_jobs(routing.stack)) == 1
    assert routing.event_types(ticket_id) == ["ticket.created", "ticket.routed"]


def test_ack_waits_while_another_attempt_holds_the_agency_notification(
    routing: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket_id, bodies = _routed_then_crashed(routing, monkeypatch)
    # Another attempt holds the agency's notification; the acknowledgement's own lease is free.
    routing.stack.ddb.update_item(
        TableName=routing.stack.tables["TicketsTable"],
        Key={"pk": {"S": f"TICKET#{ticket_id}"}, "sk": {"S": "OUTBOX#00000002#ack"}},
        UpdateExpression="REMOVE claim_until",
    )
    assert routing.run(bodies) == {"batchItemFailures": []}
    assert outbound_jobs(routing.stack) == []  # never ahead of the notification it follows
    _after_the_leases(monkeypatch)
    assert routing.run(bodies) == {"batchItemFailures": []}
    assert len(routing.agency_messages(GROBOGAN_ROADS)) == 1 and len(outbound_jobs(routing.stack)) == 1


def test_unreachable_agency_falls_back_to_triage_and_the_ack_is_withheld(routing: Harness) -> None:
    url = routing.stack.sqs.get_queue_url(QueueName=f"kemala-agency-{GROBOGAN_ROADS}")["QueueUrl"]
    routing.stack.sqs.delete_queue(QueueUrl=url)
    ticket_id, _ = routing.complain(CLEAR)
    assert routing.route_all() == {"batchItemFailures": []}
    ticket = routing.ticket(ticket_id)
    assert ticket.status is TicketStatus.TRIAGE
    assert ticket.ack_reply_id is None  # so the operator's delegation acknowledges it
    assert outbound_jobs(routing.stack) == []
    ack_items = [i for i in outbox_items(routing.stack, ticket_id) if i["sk"]["S"].endswith("#ack")]
    assert len(ack_items) == 1 and "closed_at" in ack_items[0] and "sent_at" not in ack_items[0]
    assert routing.event_types(ticket_id) == ["ticket.created", "ticket.routed", "ticket.agency_unreachable"]


def test_an_unusable_ack_account_is_logged_and_never_blocks_routing(
    applied: Stack,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("ACK_AGENCY_ID", "jateng-dlhk")  # registered, but no X account
    harness = _harness(applied, model=False)
    ticket_id, _ = harness.complain(CLEAR)
    assert harness.route_all() == {"batchItemFailures": []}
    assert harness.ticket(ticket_id).status is TicketStatus.ASSIGNED
    assert harness.ticket(ticket_id).ack_reply_id is None
    assert outbound_jobs(applied) == []
    assert [r.levelname for r in caplog.records if r.getMessage() == "acknowledgement skipped"] == ["ERROR"]


# --- the replier ------------------------------------------------------------------------------------


class Flow:
    """Webhook → router (acknowledgements on) → OutboundQueue → replier → fake X."""

    def __init__(self, routing: Harness, replier: Replier) -> None:
        self.routing = routing
        self.replier = replier
        self.stack = routing.stack

    def assigned_with_ack(self) -> Ticket:
        ticket_id, _ = self.routing.complain(CLEAR)
        assert self.routing.route_all() == {"batchItemFailures": []}
        self.routing.agency_messages(GROBOGAN_ROADS)  # drained: what the agency saw
        return self.routing.ticket(ticket_id)

    def jobs(self) -> list[dict[str, Any]]:
        return self.replier.receive()

    def ack_post(self, ticket: Ticket) -> Any:
        (post,) = [p for p in self.replier.posts_to(ticket.tweet_id) if p.author_id == SPEAKER_USER_ID]
        return post


@pytest.fixture
def flow(routing: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flow]:
    stack = routing.stack
    with FakeX().start() as fake:
        for user_id, agency_id in ((SPEAKER_USER_ID, SPEAKER), (GROBOGAN_USER_ID, GROBOGAN_ROADS)):
            creds = _creds(user_id, agency_id)
            fake.add_account(user_id, **creds)
            stack.secrets.create_secret(Name=f"kemala/agency/{agency_id}/x", SecretString=json.dumps(creds))
        monkeypatch.setenv("IDEMPOTENCY_TABLE", stack.tables["IdempotencyTable"])
        monkeypatch.setenv("OUTBOUND_DLQ_URL", stack.queues["OutboundDLQ"])
        monkeypatch.setenv("X_API_BASE_URL", fake.url)
        kemala_aws.secrets.cache_clear()
        module = load_function("replier")
        clock = Clock()
        module.service.clock = clock
        yield Flow(routing, Replier(module, stack, fake, clock))


def test_ack_is_posted_by_the_province_and_leaves_the_ticket_as_it_was(
    flow: Flow, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket = flow.assigned_with_ack()
    capsys.readouterr()
    assert flow.replier.run_once() == []

    post = flow.ack_post(ticket)
    assert flow.replier.fake.validator.is_valid(post.body)  # X's createPosts schema
    assert post.body == {
        "text": ack_text(ticket.ref, _agency(flow, GROBOGAN_ROADS)),
        "reply": {"in_reply_to_tweet_id": ticket.tweet_id},
    }
    assert ticket.ref in post.body["text"] and GROBOGAN_ROADS_NAME in post.body["text"]

    after = flow.replier.store.require(ticket.id)
    assert after.status is TicketStatus.ASSIGNED
    assert after.first_response_at is None and after.reply_tweet_ids == []
    assert after.pending_reply_id is None and after.last_reply_error is None
    assert flow.replier.events(ticket.id) == ["ticket.created", "ticket.routed", "ack.posted"]
    event = flow.replier.store.events(ticket.id)[-1]
    assert event.set == {} and event.actor == "system:replier"
    assert (event.data["tweet_id"], event.data["agency_id"]) == (post.id, SPEAKER)
    link = flow.replier.store.tweet_link(post.id)
    assert link is not None and (link.ticket_id, link.role) == (ticket.id, "reply")
    assert _metric(capsys.readouterr().out, "Ack_posted") == 1
    assert flow.jobs() == []

    # The citizen answers the acknowledgement: it threads back onto the ticket as a follow-up.
    followup_ticket, _ = flow.routing.complain("kapan diperbaiki min?", in_reply_to=post.id)
    assert followup_ticket == ticket.id
    assert flow.replier.events(ticket.id)[-1] == "ticket.followup"


def test_the_agencys_own_reply_still_responds_and_its_pending_reply_is_untouched_by_the_ack(
    flow: Flow,
) -> None:
    ticket = flow.assigned_with_ack()
    (ack_message,) = flow.jobs()
    flow.replier.make_visible([ack_message])
    reply_id = flow.replier.request_reply(ticket, agency_id=GROBOGAN_ROADS)  # as the API does

    assert flow.replier.invoke([ack_message]) == []  # the acknowledgement alone, while the reply waits
    pending = flow.replier.store.require(ticket.id)
    assert pending.status is TicketStatus.ASSIGNED and pending.pending_reply_id == reply_id
    assert pending.first_response_at is None

    assert flow.replier.run_once() == []  # now the agency's answer
    after = flow.replier.store.require(ticket.id)
    assert after.status is TicketStatus.RESPONDED and after.first_response_at is not None
    assert after.pending_reply_id is None
    answer = [p for p in flow.replier.posts_to(ticket.tweet_id) if p.author_id == GROBOGAN_USER_ID]
    assert len(answer) == 1 and after.reply_tweet_ids == [answer[0].id]
    assert flow.replier.events(ticket.id)[-3:] == ["reply.requested", "ack.posted", "reply.posted"]


def test_ack_refused_by_x_is_recorded_on_the_ticket_and_no_agency_is_told(
    flow: Flow, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    ticket = flow.assigned_with_ack()
    flow.replier.fake.inject("forbidden", detail="You are not permitted to reply to this conversation.")
    capsys.readouterr()
    import kemala.replies.service as service

    with mock.patch.object(service, "send_envelopes", wraps=service.send_envelopes) as sends:
        assert flow.replier.run_once() == []  # failed for good: not retried
    assert sends.call_count == 0  # no reply.failed to any agency queue

    assert flow.replier.posts_to(ticket.tweet_id) == []
    after = flow.replier.store.require(ticket.id)
    assert after.status is TicketStatus.ASSIGNED and after.last_reply_error is None
    assert flow.replier.events(ticket.id)[-1] == "ack.failed"
    event = flow.replier.store.events(ticket.id)[-1]
    assert event.data["x_status"] == 403 and "not permitted" in event.data["reason"]
    assert flow.routing.agency_messages(GROBOGAN_ROADS) == []  # the assigned agency heard nothing
    out = capsys.readouterr().out
    assert _metric(out, "Ack_failed") == 1 and _metric(out, "Reply_failed") == 0
    assert any(r.getMessage() == "acknowledgement not posted" for r in caplog.records)


def test_a_duplicated_ack_job_is_posted_once(flow: Flow) -> None:
    ticket = flow.assigned_with_ack()
    (message,) = flow.jobs()
    flow.replier.make_visible([message])
    flow.stack.sqs.send_message(QueueUrl=flow.replier.queue_url, MessageBody=message["Body"])
    while messages := flow.jobs():
        assert flow.replier.invoke(messages) == []
    assert flow.ack_post(ticket) is not None  # exactly one from the province's account
    assert flow.replier.events(ticket.id).count("ack.posted") == 1


def _agency(flow: Flow, agency_id: str) -> Agency:
    agency = AgencyStore(flow.stack.tables["DirectoryTable"]).get(agency_id)
    assert agency is not None
    return agency


# --- the API (operator delegation) ------------------------------------------------------------------


@pytest.fixture
def api(function_env: Stack, ack_on: None) -> Api:
    speaker = Agency(
        id=SPEAKER,
        name="Dinas Komunikasi dan Informatika Provinsi Jawa Tengah",
        level=AgencyLevel.PROVINCE,
        categories=["communications"],
        x_handle="diskominfojtg",
        x_user_id=SPEAKER_USER_ID,
        x_secret_name=f"kemala/agency/{SPEAKER}/x",
    )
    AgencyStore(function_env.tables["DirectoryTable"]).put(speaker, "2026-01-01T00:00:00.000Z")
    return Api(function_env)


def test_delegation_queues_one_acknowledgement(api: Api) -> None:
    ticket = api.routed(TicketStatus.TRIAGE)
    status, body, _ = api.call("POST", f"/tickets/{ticket.id}/delegate", OPERATOR, {"agency_id": ROADS})
    assert status == 200, body
    assert body["notified"] == [f"agency:{ROADS}", "outbound"] and body["not_notified"] == []
    assert body["ticket"]["ack_reply_id"] == ack_reply_id(ticket.id)
    (job,) = outbound_jobs(api.stack)
    request = ReplyRequest.model_validate(job["detail"])
    assert (request.kind, request.agency_id, request.requested_by) == ("ack", SPEAKER, "operator")
    assert request.reply_id == ack_reply_id(ticket.id) and request.in_reply_to_tweet_id == ticket.tweet_id
    assert ticket.ref in request.text and f"Agency {ROADS}" in request.text
    delegated = api.store.events(ticket.id)[-1]
    assert delegated.type == "ticket.delegated" and delegated.data["acknowledge_as"] == SPEAKER


def test_reassignment_and_redelegation_are_not_acknowledged_again(api: Api) -> None:
    ticket = api.routed(TicketStatus.TRIAGE)
    api.call("POST", f"/tickets/{ticket.id}/delegate", OPERATOR, {"agency_id": ROADS})
    assert len(outbound_jobs(api.stack)) == 1

    status, body, _ = api.call(
        "POST", f"/tickets/{ticket.id}/reassign", OPERATOR, {"agency_id": WATER, "reason": "pipa bocor"}
    )
    assert status == 200 and "outbound" not in body["notified"]
    status, _, _ = api.call(
        "POST", f"/tickets/{ticket.id}/reject", AGENCY_WATER, {"reason": "bukan kewenangan"}
    )
    assert status == 200
    status, body, _ = api.call("POST", f"/tickets/{ticket.id}/delegate", OPERATOR, {"agency_id": ROADS})
    assert status == 200 and body["notified"] == [f"agency:{ROADS}"]
    assert outbound_jobs(api.stack) == []


def test_router_acknowledged_ticket_is_not_acknowledged_again_by_a_later_delegation(api: Api) -> None:
    ticket = api.routed(TicketStatus.ASSIGNED, agency_id=ROADS)

    def acknowledged(t: Ticket) -> Change:  # what the router's assignment also set
        return Change("ticket.routed", "router", fields={"ack_reply_id": ack_reply_id(t.id)})

    update_with_retry(api.store, ticket.id, acknowledged, lambda: iso(utc_now()))
    status, _, _ = api.call(
        "POST", f"/tickets/{ticket.id}/reject", AGENCY_ROADS, {"reason": "bukan kewenangan"}
    )
    assert status == 200
    status, body, _ = api.call("POST", f"/tickets/{ticket.id}/delegate", OPERATOR, {"agency_id": WATER})
    assert status == 200 and body["notified"] == [f"agency:{WATER}"]
    assert outbound_jobs(api.stack) == []


def test_an_ack_that_cannot_be_queued_is_reported_and_the_delegation_stands(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.module.ctx, "outbound_queue_url", api.stack.queues["OutboundQueue"] + "-gone")
    ticket = api.routed(TicketStatus.TRIAGE)
    status, body, _ = api.call("POST", f"/tickets/{ticket.id}/delegate", OPERATOR, {"agency_id": ROADS})
    assert status == 200
    assert body["notified"] == [f"agency:{ROADS}"] and body["not_notified"] == ["outbound"]
    assert body["ticket"]["status"] == "ASSIGNED"


# --- the text, the settings and the template ----------------------------------------------------------


def _text_agency(name: str, handle: str | None) -> Agency:
    return Agency(
        id="kab-contoh-dpu",
        name=name,
        level=AgencyLevel.REGENCY,
        categories=["public_works"],
        x_handle=handle,
    )


def test_ack_text_falls_back_to_the_handle_then_a_shortened_name_and_always_fits() -> None:
    long_name = "Dinas Pekerjaan Umum " + "dan Penataan Ruang " * 12 + "Kabupaten Contoh"
    with_handle = ack_text("KJ-ABCD-EFGH", _text_agency(long_name, "dpucontoh"))
    assert "@dpucontoh" in with_handle and "KJ-ABCD-EFGH" in with_handle
    without = ack_text("KJ-ABCD-EFGH", _text_agency(long_name, None))
    assert without.endswith("….") and without.startswith("Terima kasih") and "KJ-ABCD-EFGH" in without
    for text in (with_handle, without):
        assert validate_reply_text(text).weighted_length <= 280


def test_router_refuses_acknowledgements_without_an_outbound_queue() -> None:
    from kemala.routing.router import RouterSettings
    from kemala.settings import ConfigError, load_settings

    env = {"TICKETS_TABLE": "t", "DIRECTORY_TABLE": "d", "OPERATORS_QUEUE_URL": "q", "ACK_AGENCY_ID": SPEAKER}
    with pytest.raises(ConfigError, match="ACK_AGENCY_ID"):
        load_settings(RouterSettings, env)
    assert load_settings(RouterSettings, {**env, "ACK_AGENCY_ID": ""}).ack_agency_id == ""


def test_template_passes_the_setting_and_grants_the_router_outbound_only_when_on() -> None:
    from kemala_cli.cfn import load_template

    tmpl = load_template()
    assert tmpl["Parameters"]["AcknowledgementAccount"]["Default"] == ""
    assert "AcknowledgementOn" in tmpl["Conditions"]
    for function in ("RouterFunction", "ApiFunction"):
        env = tmpl["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert env["ACK_AGENCY_ID"] == {"Ref": "AcknowledgementAccount"}
    statements = tmpl["Resources"]["RouterFunction"]["Properties"]["Policies"][0]["Statement"]
    (ack,) = [s["Fn::If"] for s in statements if "Fn::If" in s and s["Fn::If"][0] == "AcknowledgementOn"]
    assert ack[1]["Resource"] == {"Fn::GetAtt": ["OutboundQueue", "Arn"]} and ack[2] == {
        "Ref": "AWS::NoValue"
    }
