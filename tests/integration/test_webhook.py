"""functions/webhook end to end on moto: every kind of input X (or an attacker) can send."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any
from unittest import mock

import boto3
import pytest
from kemala.audit_chain import verify_chain
from kemala.models.ticket import TicketStatus
from kemala.store.tickets import TicketStore
from kemala_cli.lambda_loader import load_function

from tests.conftest import Stack, shared_json
from tests.x_payloads import DM, SENT, complaint_delivery, delete_delivery, http_event, signed

COMPLAINT = "#KemalaJateng jalan berlubang di Jl. Raya Purwodadi km 12, sudah 3 bulan 🙏🏽 mohon diperbaiki"


class Webhook:
    def __init__(self, module: ModuleType, stack: Stack) -> None:
        self.module = module
        self.stack = stack
        self.store = TicketStore(stack.tables["TicketsTable"])

    def call(self, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        resp = self.module.lambda_handler(event, _context())
        return resp["statusCode"], json.loads(resp["body"])

    def post(
        self, payload: Any, signature: str | None = "sign", raw: bytes | None = None
    ) -> tuple[int, dict[str, Any]]:
        body, good = signed(raw if raw is not None else payload)
        headers = (
            {}
            if signature is None
            else {"x-twitter-webhooks-signature": good if signature == "sign" else signature}
        )
        return self.call(http_event("POST", body, headers))

    def tickets(self) -> list[dict[str, Any]]:
        items = self.stack.ddb.scan(TableName=self.stack.tables["TicketsTable"])["Items"]
        return [i for i in items if i["sk"]["S"] == "TICKET"]


def _context() -> Any:
    ctx = mock.MagicMock()
    ctx.function_name, ctx.memory_limit_in_mb, ctx.aws_request_id = "webhook", 512, "req"
    ctx.invoked_function_arn = "arn:aws:lambda:ap-southeast-3:123456789012:function:webhook"
    return ctx


@pytest.fixture
def webhook(function_env: Stack) -> Webhook:
    return Webhook(load_function("webhook"), function_env)


def test_crc_answers_with_the_hmac_token(webhook: Webhook) -> None:
    from kemala.webhook_auth import crc_response_token

    status, body = webhook.call(http_event("GET", query={"crc_token": "foo"}))
    assert status == 200
    assert body == {"response_token": crc_response_token("test-consumer-secret", "foo")}
    status, body = webhook.call(http_event("GET"))
    assert status == 400 and body["error"] == "missing_crc_token"


def test_complaint_becomes_one_ticket_with_audit_and_one_routing_message(webhook: Webhook) -> None:
    status, body = webhook.post(complaint_delivery(COMPLAINT))
    assert status == 200 and body["created"] == 1 and body["enqueued"] == 1
    link = webhook.store.tweet_link("1124287614780047362")
    assert link is not None and link.role == "origin" and link.routing_enqueued_at
    ticket = webhook.store.require(link.ticket_id)
    assert ticket.status is TicketStatus.RECEIVED
    assert ticket.text == COMPLAINT  # emoji with skin tone and mixed scripts kept exactly
    assert ticket.tweet_id == "1124287614780047362"
    events = webhook.store.events(ticket.id)
    assert [e.type for e in events] == ["ticket.created"]
    assert verify_chain(ticket.id, [e.model_dump() for e in events], ticket.last_hash) == []
    messages = webhook.stack.receive_all("RoutingQueue")
    assert len(messages) == 1
    assert messages[0]["type"] == "ticket.received" and messages[0]["ticket"]["id"] == ticket.id
    assert messages[0]["version"] == 1


def test_hashtag_matching_is_case_insensitive_and_needs_a_configured_tag(webhook: Webhook) -> None:
    assert (
        webhook.post(complaint_delivery("lapor", tweet_id="11", hashtags=("kemalajateng",)))[1]["created"]
        == 1
    )
    assert webhook.post(complaint_delivery("lapor", tweet_id="12", hashtags=("LAPORGUB",)))[1]["created"] == 1
    status, body = webhook.post(complaint_delivery("halo", tweet_id="13", hashtags=("JatengGayeng",)))
    assert status == 200 and body["created"] == 0 and body["ignored"] == 1


def test_duplicate_deliveries_make_one_ticket_and_one_message(webhook: Webhook) -> None:
    payload = complaint_delivery(COMPLAINT)
    first = webhook.post(payload)
    second = webhook.post(payload)
    assert first[1]["created"] == 1
    assert second == (
        200,
        {"created": 0, "duplicates": 1, "followups": 0, "withdrawn": 0, "ignored": 0, "enqueued": 0},
    )
    assert len(webhook.tickets()) == 1
    assert len(webhook.stack.receive_all("RoutingQueue")) == 1


def test_concurrent_deliveries_of_one_tweet_make_one_ticket(webhook: Webhook) -> None:
    payload = complaint_delivery(COMPLAINT, tweet_id="1700000000000000001")
    results: list[tuple[int, dict[str, Any]]] = []
    barrier = threading.Barrier(6)
    # Lambda runs concurrent invocations in separate containers: one module instance per thread.
    containers = [Webhook(load_function("webhook"), webhook.stack) for _ in range(6)]

    def deliver(container: Webhook) -> None:
        barrier.wait()
        results.append(container.post(payload))

    threads = [threading.Thread(target=deliver, args=(c,)) for c in containers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r[0] for r in results] == [200] * 6
    assert sum(r[1]["created"] for r in results) == 1
    assert len(webhook.tickets()) == 1
    assert len(webhook.stack.receive_all("RoutingQueue")) == 1


def test_own_tweets_agency_tweets_retweets_and_dms_are_ignored(webhook: Webhook) -> None:
    sent = shared_json(SENT)
    sent["tweet_create_events"][0]["entities"]["hashtags"] = [{"text": "KemalaJateng", "indices": [0, 13]}]
    assert webhook.post(sent) == (200, {**_zero(), "ignored": 1})
    webhook.stack.ddb.put_item(
        TableName=webhook.stack.tables["DirectoryTable"],
        Item={"pk": {"S": "XACCOUNTS"}, "sk": {"S": "XACCOUNTS"}, "user_ids": {"SS": ["999"]}},
    )
    webhook.module.ctx.directory._accounts = None  # drop the 60 s cache, as a new container would
    assert webhook.post(complaint_delivery(COMPLAINT, tweet_id="21", author_id="999"))[1]["ignored"] == 1
    retweet = complaint_delivery(COMPLAINT, tweet_id="22")
    retweet["tweet_create_events"][0]["retweeted_status"] = {"id_str": "1"}
    assert webhook.post(retweet)[1]["ignored"] == 1
    status, body = webhook.post(shared_json(DM))
    assert status == 200 and body["created"] == 0 and body["ignored"] >= 1
    assert webhook.tickets() == []


def _zero() -> dict[str, int]:
    return {"created": 0, "duplicates": 0, "followups": 0, "withdrawn": 0, "ignored": 0, "enqueued": 0}


@pytest.mark.parametrize(
    ("signature", "error"),
    [(None, "missing_signature"), ("sha256=AAAA", "bad_signature"), ("forged", "bad_signature")],
)
def test_missing_or_forged_signature_is_401_and_stores_nothing(
    webhook: Webhook, signature: str | None, error: str
) -> None:
    status, body = webhook.post(complaint_delivery(COMPLAINT), signature=signature)
    assert (status, body["error"]) == (401, error)
    assert webhook.tickets() == []
    assert webhook.stack.receive_all("RoutingQueue") == []


def test_signature_from_another_secret_is_refused(webhook: Webhook) -> None:
    raw, sig = signed(complaint_delivery(COMPLAINT), secret="attacker")
    status, _ = webhook.call(http_event("POST", raw, {"x-twitter-webhooks-signature": sig}))
    assert status == 401 and webhook.tickets() == []


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b'{"for_user_id": "1", "tweet_create_events": [', "malformed_json"),
        (b"\xff\xfe not utf-8", "malformed_json"),
        (b"", "malformed_json"),
        (b'"just a string"', "bad_shape"),
        (b'{"for_user_id": "1", "tweet_create_events": [{"id_str": "1"}]}', "bad_shape"),
    ],
)
def test_bad_bodies_are_400_with_a_named_error(webhook: Webhook, raw: bytes, error: str) -> None:
    status, body = webhook.post(None, raw=raw)
    assert (status, body["error"]) == (400, error)
    assert body["message"]


def test_oversized_body_is_413_before_any_work(webhook: Webhook) -> None:
    payload = complaint_delivery("x" * (600 * 1024))
    status, body = webhook.post(payload)
    assert status == 413 and body["error"] == "body_too_large" and "524288" in body["message"]
    assert webhook.tickets() == []


def test_follow_up_is_recorded_on_the_ticket_not_as_a_new_one(webhook: Webhook) -> None:
    webhook.post(complaint_delivery(COMPLAINT, tweet_id="31"))
    ticket_id = webhook.store.tweet_link("31").ticket_id  # type: ignore[union-attr]
    followup = complaint_delivery(
        "sudah 2 minggu belum ada perbaikan", tweet_id="32", in_reply_to="31", hashtags=()
    )
    status, body = webhook.post(followup)
    assert status == 200 and body["followups"] == 1 and body["created"] == 0
    assert webhook.post(followup)[1]["duplicates"] == 1  # redelivered: recorded once
    events = webhook.store.events(ticket_id)
    assert [e.type for e in events] == ["ticket.created", "ticket.followup"]
    assert events[1].data["tweet_id"] == "32"
    assert len(webhook.tickets()) == 1
    types = [m["type"] for m in webhook.stack.receive_all("RoutingQueue")]
    assert types == ["ticket.received", "ticket.followup"]


def test_delete_purges_text_keeps_the_audit_skeleton_and_withdraws(webhook: Webhook) -> None:
    webhook.post(complaint_delivery(COMPLAINT, tweet_id="41"))
    webhook.post(
        complaint_delivery("tambahan info: dekat pasar", tweet_id="42", in_reply_to="41", hashtags=())
    )
    ticket_id = webhook.store.tweet_link("41").ticket_id  # type: ignore[union-attr]
    assert webhook.post(delete_delivery("42"))[1]["withdrawn"] == 1
    assert webhook.store.tweet_link("42").text is None  # type: ignore[union-attr]
    status, body = webhook.post(delete_delivery("41"))
    assert status == 200 and body["withdrawn"] == 1
    ticket = webhook.store.require(ticket_id)
    assert ticket.status is TicketStatus.WITHDRAWN
    assert ticket.text is None
    raw_item = webhook.stack.ddb.get_item(
        TableName=webhook.stack.tables["TicketsTable"],
        Key={"pk": {"S": f"TICKET#{ticket_id}"}, "sk": {"S": "TICKET"}},
    )["Item"]
    assert "text" not in raw_item
    events = webhook.store.events(ticket_id)
    assert [e.type for e in events] == [
        "ticket.created",
        "ticket.followup",
        "followup.deleted",
        "ticket.withdrawn",
    ]
    assert all("jalan" not in json.dumps(e.model_dump()).lower() for e in events)
    assert verify_chain(ticket_id, [e.model_dump() for e in events], ticket.last_hash) == []
    assert webhook.post(delete_delivery("41"))[1]["duplicates"] == 1  # delete redelivered: no change
    assert webhook.post(delete_delivery("999"))[1]["ignored"] == 1  # unknown tweet


def _failing_send_batch(real: Callable[..., Any]) -> Callable[..., Any]:
    def send(**kwargs: Any) -> Any:
        raise boto3.client("sqs").exceptions.ClientError(
            {"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, "SendMessageBatch"
        )

    return send


def test_queue_failure_then_redelivery_gives_one_ticket_and_one_message(webhook: Webhook) -> None:
    from kemala import aws

    sqs = aws.client("sqs")
    payload = complaint_delivery(COMPLAINT, tweet_id="51")
    with mock.patch.object(
        sqs, "send_message_batch", side_effect=_failing_send_batch(sqs.send_message_batch)
    ):
        status, body = webhook.post(payload)
    assert status == 503 and body["error"] == "storage_unavailable"
    assert len(webhook.tickets()) == 1  # the ticket is safe
    assert webhook.stack.receive_all("RoutingQueue") == []
    status, body = webhook.post(payload)  # X retries the delivery
    assert status == 200 and body["duplicates"] == 1 and body["enqueued"] == 1
    assert webhook.post(payload)[1]["enqueued"] == 0  # and a third time sends nothing more
    assert len(webhook.tickets()) == 1
    assert [m["type"] for m in webhook.stack.receive_all("RoutingQueue")] == ["ticket.received"]


def test_storage_failure_is_503_so_x_retries(webhook: Webhook) -> None:
    from botocore.exceptions import EndpointConnectionError
    from kemala import aws

    ddb = aws.client("dynamodb")
    with mock.patch.object(
        ddb, "transact_write_items", side_effect=EndpointConnectionError(endpoint_url="x")
    ):
        status, _ = webhook.post(complaint_delivery(COMPLAINT, tweet_id="61"))
    assert status == 503
    assert webhook.post(complaint_delivery(COMPLAINT, tweet_id="61"))[1]["created"] == 1


def test_missing_environment_variable_is_named_at_cold_start(
    function_env: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kemala.settings import ConfigError

    monkeypatch.delenv("ROUTING_QUEUE_URL")
    with pytest.raises(ConfigError, match="ROUTING_QUEUE_URL is missing"):
        load_function("webhook")
