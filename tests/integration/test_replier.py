"""functions/replier on moto against the fake X API: every outcome X can give, and never a double post.

Tickets come from the real ingestion path (a captured X delivery through kemala.ingest) and are moved to
ASSIGNED through TicketStore.apply, as the router would. Reply jobs go through the real OutboundQueue and
reach the handler as Lambda's SQS event (kemala_cli.local.sqs_driver.lambda_record). Time is the
service's injected clock, so waits are asserted exactly and no test sleeps.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
from kemala import aws as kemala_aws
from kemala.audit_chain import verify_chain
from kemala.ids import iso, utc_now
from kemala.ingest import IngestContext, ingest_delivery
from kemala.models.messages import Envelope, MessageType
from kemala.models.replies import ReplyRequest
from kemala.models.ticket import Ticket, TicketStatus
from kemala.models.x_payloads import parse_delivery
from kemala.routing.types import Agency, AgencyLevel
from kemala.store.agencies import AgencyStore
from kemala.store.directory import Directory
from kemala.store.reply_claims import ClaimState, ReplyClaims
from kemala.store.tickets import Change, TicketStore
from kemala.x.client import XClient
from kemala_cli.fake_x import FakeX
from kemala_cli.lambda_loader import load_function
from kemala_cli.local.sqs_driver import Mapping, lambda_record

from tests.conftest import Stack
from tests.x_payloads import complaint_delivery

AGENCY_ID = "dpu-kota-semarang"
AGENCY_USER_ID = "1460000000000000001"
SECRET_NAME = f"kemala/agency/{AGENCY_ID}"
CREDS = {
    "consumer_key": "ck-kemala-app",
    "consumer_secret": "cs-kemala-app-secret",
    "access_token": f"{AGENCY_USER_ID}-dpuSemarangToken",
    "access_token_secret": "ts-dpu-semarang-secret",
}
COMPLAINT = "#KemalaJateng jalan berlubang di Jl. Pemuda depan Lawang Sewu, bahaya buat motor 🙏🏽"
REPLY = "Terima kasih laporannya. Tim Dinas PU akan memeriksa lokasi besok pagi. Ref {ref}"


class Clock:
    def __init__(self) -> None:
        self.now = utc_now().timestamp()

    def __call__(self) -> float:
        return self.now


class Replier:
    """The loaded function, its queue, the fake X, and helpers to make tickets and jobs."""

    def __init__(self, module: ModuleType, stack: Stack, fake: FakeX, clock: Clock) -> None:
        self.module = module
        self.stack = stack
        self.fake = fake
        self.clock = clock
        self.store = TicketStore(stack.tables["TicketsTable"])
        self.claims = ReplyClaims(stack.tables["IdempotencyTable"])
        self.queue_url = stack.queues["OutboundQueue"]
        self.mapping = Mapping(
            logical_id="ReplierFunctionJobs",
            function="ReplierFunction",
            queue_url=self.queue_url,
            queue_arn=stack.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"],
            batch_size=5,
            window_seconds=0,
            report_failures=True,
        )
        self._tweet = 1700000000000000000

    # --- tickets -------------------------------------------------------------------------------------

    def assigned_ticket(self, agency_id: str = AGENCY_ID) -> Ticket:
        """A complaint tweet through the real ingestion path, then ASSIGNED as the router does."""
        self._tweet += 1
        tweet_id = str(self._tweet)
        ctx = IngestContext(
            store=self.store,
            directory=Directory(self.stack.tables["DirectoryTable"]),
            routing_queue_url=self.stack.queues["RoutingQueue"],
            hashtags=frozenset({"kemalajateng"}),
        )
        assert ingest_delivery(parse_delivery(complaint_delivery(COMPLAINT, tweet_id=tweet_id)), ctx).created
        link = self.store.tweet_link(tweet_id)
        assert link is not None
        ticket = self.store.require(link.ticket_id)
        change = Change(
            type="ticket.assigned",
            actor="system:router",
            status=TicketStatus.ASSIGNED,
            fields={"agency_id": agency_id, "category": "public_works", "region": "kota-semarang"},
        )
        return self.store.apply(ticket, change, iso(utc_now()))

    def request_reply(self, ticket: Ticket, text: str | None = None, agency_id: str = AGENCY_ID) -> str:
        """What functions/api does: mark the reply pending on the ticket and enqueue reply.requested."""
        reply_id = str(uuid.uuid4())
        request = ReplyRequest(
            reply_id=reply_id,
            text=text or REPLY.format(ref=ticket.ref),
            in_reply_to_tweet_id=ticket.tweet_id,
            agency_id=agency_id,
            requested_by=f"agency:{agency_id}",
        )
        change = Change(
            type="reply.requested", actor=f"agency:{agency_id}", fields={"pending_reply_id": reply_id}
        )
        ticket = self.store.apply(self.store.require(ticket.id), change, iso(utc_now()))
        envelope = Envelope.build(
            MessageType.REPLY_REQUESTED,
            ticket,
            iso(utc_now()),
            detail=request.model_dump(),
            discriminator=reply_id,
        )
        self.stack.sqs.send_message(QueueUrl=self.queue_url, MessageBody=envelope.model_dump_json())
        return reply_id

    # --- the queue and the function -------------------------------------------------------------------

    def receive(self) -> list[dict[str, Any]]:
        resp = self.stack.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=5, AttributeNames=["All"], WaitTimeSeconds=0
        )
        return list(resp.get("Messages", []))

    def invoke(self, messages: list[dict[str, Any]]) -> list[str]:
        """One Lambda invocation with these messages; deletes the successes as Lambda does and returns
        the message ids reported as batch item failures."""
        event = {"Records": [lambda_record(m, self.mapping, "ap-southeast-3") for m in messages]}
        result = self.module.lambda_handler(event, _context())
        failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
        for m in messages:
            if m["MessageId"] not in failed:
                self.stack.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return failed

    def run_once(self) -> list[str]:
        messages = self.receive()
        assert messages, "no reply job visible on OutboundQueue"
        return self.invoke(messages)

    def make_visible(self, messages: list[dict[str, Any]]) -> None:
        """The wait is over: what SQS does when the visibility set by the replier runs out."""
        for m in messages:
            self.stack.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )

    def events(self, ticket_id: str) -> list[str]:
        ticket = self.store.require(ticket_id)
        events = self.store.events(ticket_id)
        assert verify_chain(ticket_id, [e.model_dump() for e in events], ticket.last_hash) == []
        return [e.type for e in events]

    def posts_to(self, tweet_id: str) -> list[Any]:
        return [p for p in self.fake.posts() if p.in_reply_to_tweet_id == tweet_id]


def _context() -> Any:
    ctx = mock.MagicMock()
    ctx.function_name, ctx.memory_limit_in_mb, ctx.aws_request_id = "replier", 512, "req"
    ctx.invoked_function_arn = "arn:aws:lambda:ap-southeast-3:123456789012:function:replier"
    ctx.get_remaining_time_in_millis.return_value = 29_000
    return ctx


def put_agency(stack: Stack, **overrides: Any) -> Agency:
    queue_url = stack.sqs.create_queue(QueueName=f"kemala-agency-{AGENCY_ID}")["QueueUrl"]
    fields: dict[str, Any] = {
        "id": AGENCY_ID,
        "name": "Dinas Pekerjaan Umum Kota Semarang",
        "level": AgencyLevel.REGENCY,
        "region": "kota-semarang",
        "categories": ["public_works"],
        "queue_url": queue_url,
        "x_user_id": AGENCY_USER_ID,
        "x_handle": "dpu_semarang",
        "x_secret_name": SECRET_NAME,
    }
    agency = Agency(**{**fields, **overrides})
    AgencyStore(stack.tables["DirectoryTable"]).put(agency, iso(utc_now()))
    return agency


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    with FakeX().start() as fake:
        fake.add_account(AGENCY_USER_ID, **CREDS)
        yield fake


@pytest.fixture
def replier(function_env: Stack, fake_x: FakeX, monkeypatch: pytest.MonkeyPatch) -> Replier:
    stack = function_env
    monkeypatch.setenv("IDEMPOTENCY_TABLE", stack.tables["IdempotencyTable"])
    monkeypatch.setenv("OUTBOUND_DLQ_URL", stack.queues["OutboundDLQ"])
    monkeypatch.setenv("X_API_BASE_URL", fake_x.url)
    stack.secrets.create_secret(Name=SECRET_NAME, SecretString=json.dumps(CREDS))
    kemala_aws.secrets.cache_clear()
    put_agency(stack)
    module = load_function("replier")
    clock = Clock()
    module.service.clock = clock
    return Replier(module, stack, fake_x, clock)


# --- the happy path ------------------------------------------------------------------------------------


def test_reply_is_posted_once_signed_and_schema_valid_and_the_ticket_is_responded(replier: Replier) -> None:
    ticket = replier.assigned_ticket()
    reply_id = replier.request_reply(ticket)
    assert replier.run_once() == []

    posts = replier.posts_to(ticket.tweet_id)
    assert len(posts) == 1
    post = posts[0]
    assert replier.fake.validator.is_valid(post.body)
    assert post.body == {
        "text": REPLY.format(ref=ticket.ref),
        "reply": {"in_reply_to_tweet_id": ticket.tweet_id},
    }
    assert post.author_id == AGENCY_USER_ID  # the signature was verified against the agency's secrets
    assert post.oauth["oauth_consumer_key"] == CREDS["consumer_key"]

    after = replier.store.require(ticket.id)
    assert after.status is TicketStatus.RESPONDED
    assert after.reply_tweet_ids == [post.id]
    assert after.pending_reply_id is None
    assert after.first_response_at is not None
    link = replier.store.tweet_link(post.id)
    assert link is not None and (link.ticket_id, link.role) == (ticket.id, "reply")
    assert replier.events(ticket.id)[-1] == "reply.posted"
    event = replier.store.events(ticket.id)[-1]
    assert event.actor == "system:replier" and event.data["reply_id"] == reply_id
    claim = replier.claims.get(reply_id)
    assert claim is not None and claim.state is ClaimState.DONE and claim.tweet_id == post.id
    assert replier.receive() == []  # the job is deleted


def test_citizen_answer_to_our_reply_threads_back_onto_the_ticket(replier: Replier) -> None:
    ticket = replier.assigned_ticket()
    replier.request_reply(ticket)
    replier.run_once()
    reply_tweet = replier.store.require(ticket.id).reply_tweet_ids[0]
    ctx = IngestContext(
        store=replier.store,
        directory=Directory(replier.stack.tables["DirectoryTable"]),
        routing_queue_url=replier.stack.queues["RoutingQueue"],
        hashtags=frozenset({"kemalajateng"}),
    )
    answer = complaint_delivery("sudah diperbaiki, terima kasih", tweet_id="1800000000000000001", hashtags=())
    answer["tweet_create_events"][0]["in_reply_to_status_id_str"] = reply_tweet
    outcome = ingest_delivery(parse_delivery(answer), ctx)
    assert (outcome.followups, outcome.created) == (1, 0)
    assert replier.events(ticket.id)[-1] == "ticket.followup"


def test_a_second_reply_keeps_the_ticket_responded_and_adds_its_tweet(replier: Replier) -> None:
    ticket = replier.assigned_ticket()
    replier.request_reply(ticket)
    replier.run_once()
    replier.request_reply(ticket, text=f"Update: perbaikan selesai hari ini. Ref {ticket.ref}")
    replier.run_once()
    after = replier.store.require(ticket.id)
    assert after.status is TicketStatus.RESPONDED
    assert len(after.reply_tweet_ids) == 2 and len(replier.posts_to(ticket.tweet_id)) == 2


# --- X says "not now" ---------------------------------------------------------------------------------


def test_rate_limit_postpones_the_job_until_x_reset_then_posts(replier: Replier) -> None:
    ticket = replier.assigned_ticket()
    reply_id = replier.request_reply(ticket)
    replier.fake.inject("rate_limit", reset_in=600)
    sqs = replier.module.jobs.client
    messages = replier.receive()
    with mock.patch.object(
        sqs, "change_message_visibility", wraps=sqs.change_message_visibility
    ) as visibility:
        assert replier.invoke(messages) == [messages[0]["MessageId"]]  # a batch failure, so it comes back
    # fake X sets reset = its now + 600; our clock is the same wall clock, so the wait is 600 s (+1, +/-1).
    seconds = visibility.call_args.kwargs["VisibilityTimeout"]
    assert 599 <= seconds <= 602
    assert visibility.call_args.kwargs["ReceiptHandle"] == messages[0]["ReceiptHandle"]
    assert replier.posts_to(ticket.tweet_id) == []
    claim = replier.claims.get(reply_id)
    assert claim is not None and claim.state is ClaimState.RETRY and claim.rate_limited == 1
    assert claim.transient_failures == 0 and not claim.in_doubt
    assert replier.store.require(ticket.id).status is TicketStatus.ASSIGNED  # not a failure of the reply
    assert replier.receive() == []  # hidden: no busy loop

    replier.make_visible(messages)
    replier.clock.now += 601
    assert replier.run_once() == []
    assert len(replier.posts_to(ticket.tweet_id)) == 1
    assert replier.store.require(ticket.id).status is TicketStatus.RESPONDED


def test_rate_limit_wait_is_capped_below_sqs_twelve_hours(replier: Replier) -> None:
    ticket = replier.assigned_ticket()
    replier.request_reply(ticket)
    replier.fake.inject("rate_limit", reset_in=24 * 3600)  # a spent 24-hour cap
    sqs = replier.module.jobs.client
    with mock.patch.object(sqs, "change_message_visibility", wraps=sqs.change_message_visibility) as vis:
        replier.run_once()
    assert vis.call_args.kwargs["VisibilityTimeout"] == 12 * 3600 - 300


def test_server_error_fails_the_record_with_backoff_then_the_retry_posts(replier: Replier) -> None:
    ticket = replier.assigned_ticket()
    reply_id = replier.request_reply(ticket)
    replier.fake.inject("server_error", status=503)
    sqs = replier.module.jobs.client
    messages = replier.receive()
    with mock.patch.object(sqs, "change_message_visibility", wraps=sqs.change_message_visibility) as vis:
        assert replier.invoke(messages) == [messages[0]["MessageId"]]
    assert vis.call_args.kwargs["VisibilityTimeout"] == 30  # first backoff step
    claim = replier.claims.get(reply_id)
    assert claim is not None and claim.transient_failures == 1 and not claim.in_doubt  # 503: never posted

    replier.make_visible(messages)
    assert replier.run_once() == []
    assert len(replier.posts_to(ticket.tweet_id)) == 1
    assert replier.store.require(ticket.id).status is TicketStatus.RESPONDED


def test_x_outage_that_outlasts_the_retries_parks_the_job_in_the_dlq(replier: Replier) -> None:
    ticket = replier.assigned_ticket()
    reply_id = replier.request_reply(ticket)
    replier.fake.inject("server_error", count=8, status=503)
    for _ in range(7):
        messages = replier.receive()
        assert replier.invoke(messages) == [messages[0]["MessageId"]]
        replier.make_visible(messages)
    assert replier.run_once() == []  # the eighth: parked, so the original is deleted
    parked = replier.stack.sqs.receive_message(
        QueueUrl=replier.stack.queues["OutboundDLQ"], MessageAttributeNames=["All"]
    )["Messages"]
    assert len(parked) == 1
    assert "X unavailable 8 times" in parked[0]["MessageAttributes"]["dead_letter_reason"]["StringValue"]
    assert json.loads(parked[0]["Body"])["detail"]["reply_id"] == reply_id
    assert replier.posts_to(ticket.tweet_id) == []


# --- X says "already posted" or "no" -------------------------------------------------------------------


def test_duplicate_content_403_is_treated_as_posted_with_the_unknown_id_said_on_the_ticket(
    replier: Replier,
) -> None:
    ticket = replier.assigned_ticket()
    reply_id = replier.request_reply(ticket)
    replier.fake.inject("duplicate")
    assert replier.run_once() == []
    assert replier.posts_to(ticket.tweet_id) == []
    after = replier.store.require(ticket.id)
    assert after.status is TicketStatus.RESPONDED
    assert after.reply_tweet_ids == [] and after.pending_reply_id is None
    event = replier.store.events(ticket.id)[-1]
    assert event.type == "reply.posted" and event.data["tweet_id"] is None
    assert "tweet id is unknown" in event.data["note"]
    assert replier.claims.get(reply_id).state is ClaimState.DONE  # type: ignore[union-attr]


def test_other_4xx_fails_visibly_to_the_agency_and_on_the_ticket(replier: Replier) -> None:
    ticket = replier.assigned_ticket()
    too_long = "Jalan segera kami perbaiki. " * 11  # 308 weighted characters: X refuses it
    reply_id = replier.request_reply(ticket, text=too_long)
    assert replier.run_once() == []  # handled: the failure is the agency's to see, not a retry
    assert replier.posts_to(ticket.tweet_id) == []
    after = replier.store.require(ticket.id)
    assert after.status is TicketStatus.ASSIGNED
    assert after.pending_reply_id is None
    assert after.last_reply_error is not None and "too long" in after.last_reply_error
    assert replier.events(ticket.id)[-1] == "reply.failed"
    agency_queue = replier.stack.sqs.get_queue_url(QueueName=f"kemala-agency-{AGENCY_ID}")["QueueUrl"]
    messages = replier.stack.sqs.receive_message(QueueUrl=agency_queue, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    failed = json.loads(messages[0]["Body"])
    assert failed["type"] == MessageType.REPLY_FAILED.value and failed["ticket"]["id"] == ticket.id
    assert failed["detail"]["reply_id"] == reply_id and failed["detail"]["x_status"] == 403
    assert "too long" in failed["detail"]["reason"]


def test_missing_credentials_fail_visibly_without_calling_x(replier: Replier) -> None:
    replier.stack.secrets.delete_secret(SecretId=SECRET_NAME, ForceDeleteWithoutRecovery=True)
    kemala_aws.secrets.cache_clear()
    ticket = replier.assigned_ticket()
    replier.request_reply(ticket)
    assert replier.run_once() == []
    assert replier.fake.requests == 0
    error = replier.store.require(ticket.id).last_reply_error
    assert error == f"agency {AGENCY_ID}: secret {SECRET_NAME!r} cannot be read"


def test_an_agency_cannot_reply_on_another_agencys_ticket(replier: Replier) -> None:
    ticket = replier.assigned_ticket(agency_id="dinkes-kota-semarang")
    replier.request_reply(ticket)  # claims to be dpu-kota-semarang
    assert replier.run_once() == []
    assert replier.fake.requests == 0
    after = replier.store.require(ticket.id)
    assert after.last_reply_error == (
        f"agency:{AGENCY_ID} may not reply to ticket {ticket.ref} as agency {AGENCY_ID}"
    )


# --- never twice ---------------------------------------------------------------------------------------


def test_duplicate_delivery_posts_once(replier: Replier) -> None:
    ticket = replier.assigned_ticket()
    replier.request_reply(ticket)
    first = replier.receive()
    replier.make_visible(first)
    body = first[0]["Body"]
    replier.stack.sqs.send_message(QueueUrl=replier.queue_url, MessageBody=body)  # SQS delivered it twice
    both = replier.receive()
    assert len(both) == 2
    assert replier.invoke(both) == []  # one batch holding both copies
    replier.stack.sqs.send_message(QueueUrl=replier.queue_url, MessageBody=body)  # and once more, later
    assert replier.run_once() == []
    assert len(replier.posts_to(ticket.tweet_id)) == 1
    assert replier.events(ticket.id).count("reply.posted") == 1


def test_delivery_while_another_attempt_is_posting_waits_and_does_not_post(replier: Replier) -> None:
    ticket = replier.assigned_ticket()
    replier.request_reply(ticket)
    messages = replier.receive()
    duplicate_event = {"Records": [lambda_record(messages[0], replier.mapping, "ap-southeast-3")]}
    inner: list[Any] = []
    real = XClient.create_reply
    other_container = load_function("replier")  # a concurrent invocation runs in its own container
    other_container.service.clock = replier.clock

    def post_while_a_duplicate_arrives(self: XClient, *args: Any, **kwargs: Any) -> Any:
        inner.append(other_container.lambda_handler(duplicate_event, _context()))
        return real(self, *args, **kwargs)

    with mock.patch.object(XClient, "create_reply", post_while_a_duplicate_arrives):
        assert replier.invoke(messages) == []
    assert inner[0]["batchItemFailures"] == [{"itemIdentifier": messages[0]["MessageId"]}]
    assert len(replier.posts_to(ticket.tweet_id)) == 1


def _crash_after_post(real: Any) -> Any:
    def create_reply(self: XClient, *args: Any, **kwargs: Any) -> Any:
        outcome = real(self, *args, **kwargs)
        raise RuntimeError(f"injected crash after X answered {outcome!r}")

    return create_reply


def test_crash_after_x_posted_then_redelivery_finds_the_reply_and_does_not_post_again(
    replier: Replier,
) -> None:
    ticket = replier.assigned_ticket()
    reply_id = replier.request_reply(ticket)
    messages = replier.receive()
    with mock.patch.object(XClient, "create_reply", _crash_after_post(XClient.create_reply)):
        assert replier.invoke(messages) == [messages[0]["MessageId"]]
    assert len(replier.posts_to(ticket.tweet_id)) == 1
    claim = replier.claims.get(reply_id)
    assert claim is not None and claim.state is ClaimState.POSTING  # died holding the claim

    replier.make_visible(messages)  # redelivered at once: the lease is still live, so it waits
    assert replier.run_once() == [messages[0]["MessageId"]]
    replier.make_visible(messages)
    replier.clock.now += 180  # the queue's visibility timeout later: the lease has lapsed
    assert replier.run_once() == []

    posts = replier.posts_to(ticket.tweet_id)
    assert len(posts) == 1
    after = replier.store.require(ticket.id)
    assert after.status is TicketStatus.RESPONDED and after.reply_tweet_ids == [posts[0].id]
    assert "interrupted attempt" in replier.store.events(ticket.id)[-1].data["note"]


def test_crash_after_post_without_timeline_access_relies_on_x_duplicate_rule(replier: Replier) -> None:
    put_agency(replier.stack, x_user_id=None)  # no user id: the timeline cannot be searched
    ticket = replier.assigned_ticket()
    replier.request_reply(ticket)
    messages = replier.receive()
    with mock.patch.object(XClient, "create_reply", _crash_after_post(XClient.create_reply)):
        replier.invoke(messages)
    replier.make_visible(messages)
    replier.clock.now += 180
    assert replier.run_once() == []
    assert len(replier.posts_to(ticket.tweet_id)) == 1  # X refused the second as duplicate content
    after = replier.store.require(ticket.id)
    assert after.status is TicketStatus.RESPONDED and after.reply_tweet_ids == []
    assert "tweet id is unknown" in replier.store.events(ticket.id)[-1].data["note"]


def test_connection_lost_after_x_posted_is_in_doubt_and_resolved_from_the_timeline(replier: Replier) -> None:
    ticket = replier.assigned_ticket()
    reply_id = replier.request_reply(ticket)
    replier.fake.inject("drop_after_post")
    messages = replier.receive()
    assert replier.invoke(messages) == [messages[0]["MessageId"]]
    claim = replier.claims.get(reply_id)
    assert claim is not None and claim.in_doubt and claim.state is ClaimState.RETRY
    replier.make_visible(messages)
    assert replier.run_once() == []
    posts = replier.posts_to(ticket.tweet_id)
    assert len(posts) == 1
    assert replier.store.require(ticket.id).reply_tweet_ids == [posts[0].id]


def test_connection_dropped_before_x_posted_is_checked_then_posted(replier: Replier) -> None:
    ticket = replier.assigned_ticket()
    replier.request_reply(ticket)
    replier.fake.inject("drop")
    messages = replier.receive()
    assert replier.invoke(messages) == [messages[0]["MessageId"]]
    assert replier.posts_to(ticket.tweet_id) == []
    replier.make_visible(messages)
    assert replier.run_once() == []
    assert len(replier.posts_to(ticket.tweet_id)) == 1


# --- batches -------------------------------------------------------------------------------------------


def test_one_failing_job_does_not_fail_the_rest_of_the_batch(replier: Replier) -> None:
    tickets = [replier.assigned_ticket() for _ in range(3)]
    for ticket in tickets:
        replier.request_reply(ticket)
    messages = replier.receive()
    assert len(messages) == 3
    replier.fake.inject("server_error", status=503)  # the first POST of the batch only
    failed = replier.invoke(messages)
    assert len(failed) == 1
    statuses = sorted(replier.store.require(t.id).status.value for t in tickets)
    assert statuses == ["ASSIGNED", "RESPONDED", "RESPONDED"]
    assert len(replier.fake.posts()) == 2


def test_malformed_job_goes_to_the_dlq_with_the_reason(replier: Replier) -> None:
    replier.stack.sqs.send_message(QueueUrl=replier.queue_url, MessageBody='{"version": 1, "type": "x"}')
    assert replier.run_once() == []
    parked = replier.stack.sqs.receive_message(
        QueueUrl=replier.stack.queues["OutboundDLQ"], MessageAttributeNames=["All"]
    )["Messages"]
    assert parked[0]["MessageAttributes"]["dead_letter_reason"]["StringValue"].startswith(
        "malformed reply job"
    )
