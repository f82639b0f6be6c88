"""functions/api end to end on moto: roles, transitions, messages, listing, bad input, races.

Tickets are created by the real webhook (signed X deliveries); the router's decision is applied as the
router does it (an audited TicketStore change), since routing is not this function's concern.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
from kemala.audit_chain import verify_chain
from kemala.ids import iso, utc_now
from kemala.models.ticket import Ticket, TicketStatus
from kemala.routing.types import Agency, AgencyLevel
from kemala.store.agencies import AgencyStore
from kemala.store.tickets import Change, TicketStore, update_with_retry
from kemala_cli.lambda_loader import load_function

from tests.conftest import Stack
from tests.x_payloads import complaint_delivery, http_event, signed

OPERATOR = {"role": "operator", "token_id": "0123456789ab"}
AUDITOR = {"role": "auditor", "token_id": "aaaaaaaaaaaa"}
ROADS = "dpu-kota-semarang"
WATER = "pdam-kota-semarang"
HEALTH = "dinkes-kota-semarang"
AGENCY_ROADS = {"role": "agency", "agency_id": ROADS, "token_id": "bbbbbbbbbbbb"}
AGENCY_WATER = {"role": "agency", "agency_id": WATER, "token_id": "cccccccccccc"}
COMPLAINT = "#KemalaJateng jalan berlubang di Jl. Raya Purwodadi km 12, sudah 3 bulan 🙏🏽 mohon diperbaiki"


def api_event(
    method: str,
    path: str,
    caller: dict[str, str] | None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API v2 event as API Gateway passes it after a simple-response Lambda authorizer."""
    raw = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    event = http_event(method, raw.encode() if isinstance(raw, str) else (raw or b""), headers, query)
    event["routeKey"] = "$default"
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    event["requestContext"]["routeKey"] = "$default"
    if caller is not None:
        event["requestContext"]["authorizer"] = {"lambda": dict(caller)}
    return event


def lambda_context(name: str) -> Any:
    ctx = mock.MagicMock()
    ctx.function_name, ctx.memory_limit_in_mb, ctx.aws_request_id = name, 512, "req"
    ctx.invoked_function_arn = f"arn:aws:lambda:ap-southeast-3:123456789012:function:{name}"
    return ctx


class Api:
    """The API function, the webhook that feeds it, and what ended up on the queues."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.module: ModuleType = load_function("api")
        self.webhook: ModuleType = load_function("webhook")
        self.store = TicketStore(stack.tables["TicketsTable"])
        self.agency_queues: dict[str, str] = {}
        self._tweet = 1800000000000000000
        agencies = AgencyStore(stack.tables["DirectoryTable"])
        for agency_id, category in ((ROADS, "public_works"), (WATER, "water_utility"), (HEALTH, "health")):
            url = stack.sqs.create_queue(QueueName=f"kemala-agency-{agency_id}")["QueueUrl"]
            self.agency_queues[agency_id] = url
            agency = Agency(
                id=agency_id,
                name=f"Agency {agency_id}",
                level=AgencyLevel.REGENCY,
                region="kota-semarang",
                categories=[category],
                queue_url=url,
                x_handle=agency_id.replace("-", "_"),
                x_secret_name=f"kemala/agency/{agency_id}/x",
                sla_hours=48,
                active=agency_id != HEALTH,
            )
            agencies.put(agency, applied_at=iso(utc_now()))
        agencies.set_agency_ids([ROADS, WATER, HEALTH])

    def call(
        self,
        method: str,
        path: str,
        caller: dict[str, str] | None = OPERATOR,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        resp = self.module.lambda_handler(
            api_event(method, path, caller, body, headers, query), lambda_context("api")
        )
        assert resp["statusCode"] < 500, resp
        return resp["statusCode"], json.loads(resp["body"]), resp.get("headers") or {}

    # --- tickets through the real ingestion path ---------------------------------------------------

    def complaint(self, text: str = COMPLAINT, author_id: str = "14235326") -> Ticket:
        self._tweet += 1
        tweet_id = str(self._tweet)
        raw, signature = signed(complaint_delivery(text, tweet_id=tweet_id, author_id=author_id))
        resp = self.webhook.lambda_handler(
            http_event("POST", raw, {"x-twitter-webhooks-signature": signature}), lambda_context("webhook")
        )
        assert resp["statusCode"] == 200, resp
        link = self.store.tweet_link(tweet_id)
        assert link is not None
        return self.store.require(link.ticket_id)

    def routed(self, status: TicketStatus, agency_id: str | None = None, **kwargs: Any) -> Ticket:
        """A complaint after the router's decision (TRIAGE, or ASSIGNED to `agency_id`)."""
        ticket = self.complaint(**kwargs)
        fields: dict[str, Any] = {"category": "public_works", "region": "kota-semarang"}
        if agency_id:
            fields["agency_id"] = agency_id

        def build(t: Ticket) -> Change:
            return Change("ticket.routed", "router", status, fields=fields)

        updated = update_with_retry(self.store, ticket.id, build, lambda: iso(utc_now()))
        assert updated is not None
        return updated

    def set_status(self, ticket_id: str, status: TicketStatus, **fields: Any) -> Ticket:
        """What the replier does after posting (RESPONDED), for the steps after a reply."""

        def build(t: Ticket) -> Change:
            return Change("reply.posted", "replier", status, fields=fields)

        updated = update_with_retry(self.store, ticket_id, build, lambda: iso(utc_now()))
        assert updated is not None
        return updated

    def messages(self, queue: str) -> list[dict[str, Any]]:
        if queue in self.agency_queues:
            return _drain(self.stack, self.agency_queues[queue])
        return self.stack.receive_all(queue)


def _drain(stack: Stack, url: str) -> list[dict[str, Any]]:
    bodies = []
    while True:
        msgs = stack.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            return bodies
        for m in msgs:
            bodies.append(json.loads(m["Body"]))
            stack.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def api(function_env: Stack) -> Iterator[Api]:
    yield Api(function_env)


# --- the whole life of a ticket -----------------------------------------------------------------------


def test_triage_delegate_reply_respond_resolve_with_history(api: Api) -> None:
    ticket = api.routed(TicketStatus.TRIAGE)
    api.messages("RoutingQueue")

    status, body, _ = api.call("POST", f"/tickets/{ticket.id}/delegate", OPERATOR, {"agency_id": ROADS})
    assert status == 200, body
    assert body["ticket"]["status"] == "ASSIGNED" and body["ticket"]["agency_id"] == ROADS
    assert body["ticket"]["due_at"] and body["notified"] == [f"agency:{ROADS}"]
    (assigned,) = api.messages(ROADS)
    assert assigned["type"] == "ticket.assigned" and assigned["ticket"]["id"] == ticket.id

    text = "Terima kasih, laporan sudah kami teruskan ke tim lapangan 🙏🏽 https://dpu.semarangkota.go.id/laporan"
    status, body, _ = api.call("POST", f"/tickets/{ticket.id}/replies", AGENCY_ROADS, {"text": text})
    assert status == 202, body
    reply_id = body["reply_id"]
    assert body["ticket"]["pending_reply_id"] == reply_id
    (job,) = api.messages("OutboundQueue")
    assert job["type"] == "reply.requested"
    assert job["detail"] == {
        "reply_id": reply_id,
        "text": text,
        "in_reply_to_tweet_id": ticket.tweet_id,
        "agency_id": ROADS,
        "requested_by": f"agency:{ROADS}",
        "kind": "answer",
    }

    api.set_status(ticket.id, TicketStatus.RESPONDED, pending_reply_id=None, first_response_at=iso(utc_now()))
    status, body, _ = api.call(
        "POST", f"/tickets/{ticket.id}/resolve", AGENCY_ROADS, {"note": "sudah ditambal"}
    )
    assert status == 200 and body["ticket"]["status"] == "RESOLVED" and body["ticket"]["resolved_at"]

    status, history, _ = api.call("GET", f"/tickets/{ticket.id}/history", AUDITOR)
    assert status == 200 and history["chain_intact"] is True
    types = [e["type"] for e in history["events"]]
    assert types == [
        "ticket.created",
        "ticket.routed",
        "ticket.delegated",
        "reply.requested",
        "reply.posted",
        "ticket.resolved",
    ]
    delegated = history["events"][2]
    assert delegated["actor"] == "operator" and delegated["data"]["via"] == "token:0123456789ab"
    requested = history["events"][3]
    assert requested["actor"] == f"agency:{ROADS}" and requested["data"]["text"] == text
    events = [e for e in history["events"]]
    assert verify_chain(ticket.id, events, head_hash=api.store.require(ticket.id).last_hash) == []


def test_get_ticket_gives_an_etag_and_if_match_detects_a_stale_view(api: Api) -> None:
    ticket = api.routed(TicketStatus.TRIAGE)
    status, body, headers = api.call("GET", f"/tickets/{ticket.id}")
    assert status == 200 and body["id"] == ticket.id and headers["ETag"] == f'"{ticket.version}"'
    stale = {"if-match": f'"{ticket.version - 1}"'}
    status, body, _ = api.call(
        "POST", f"/tickets/{ticket.id}/delegate", OPERATOR, {"agency_id": ROADS}, stale
    )
    assert status == 409 and body["error"] == "stale_ticket"
    assert api.store.require(ticket.id).status is TicketStatus.TRIAGE
    fresh = {"if-match": headers["ETag"]}
    status, body, _ = api.call(
        "POST", f"/tickets/{ticket.id}/delegate", OPERATOR, {"agency_id": ROADS}, fresh
    )
    assert status == 200
    status, body, _ = api.call(
        "POST", f"/tickets/{ticket.id}/close", OPERATOR, {"reason": "spam"}, {"if-match": "x"}
    )
    assert status == 422 and body["fields"][0]["field"] == "If-Match"


# --- the authorization matrix --------------------------------------------------------------------------

ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/tickets/{id}", None),
    ("GET", "/tickets/{id}/history", None),
    ("POST", "/tickets/{id}/delegate", {"agency_id": WATER}),
    ("POST", "/tickets/{id}/reassign", {"agency_id": WATER, "reason": "urusan air"}),
    ("POST", "/tickets/{id}/reject", {"reason": "bukan kewenangan kami"}),
    ("POST", "/tickets/{id}/replies", {"text": "Sedang kami tangani."}),
    ("POST", "/tickets/{id}/resolve", {"note": "selesai"}),
    ("POST", "/tickets/{id}/close", {"reason": "not_actionable"}),
]
# Expected status per (route, caller) on a ticket ASSIGNED to ROADS. 409: the role may act, but
# delegate needs TRIAGE. AGENCY_WATER is "another agency": 404 wherever the role could act at all.
MATRIX = {
    "operator": [200, 200, 409, 200, 403, 202, 200, 200],
    "agency_own": [200, 200, 403, 403, 200, 202, 200, 403],
    "agency_other": [404, 404, 403, 403, 404, 404, 404, 403],
    "auditor": [200, 200, 403, 403, 403, 403, 403, 403],
}
CALLERS = {"operator": OPERATOR, "agency_own": AGENCY_ROADS, "agency_other": AGENCY_WATER, "auditor": AUDITOR}


@pytest.mark.parametrize("who", list(MATRIX))
def test_authorization_matrix_every_route_every_role(api: Api, who: str) -> None:
    for (method, template, body), expected in zip(ROUTES, MATRIX[who], strict=True):
        ticket = api.routed(TicketStatus.ASSIGNED, ROADS)
        status, answer, _ = api.call(method, template.format(id=ticket.id), CALLERS[who], body)
        assert status == expected, (who, method, template, answer)
        after = api.store.require(ticket.id)
        if status >= 400:
            assert after.version == ticket.version, f"{who} {template} changed the ticket on {status}"
        if status == 404:  # exactly what a ticket that does not exist gets: nothing leaks
            unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
            _, missing, _ = api.call(method, template.format(id=unknown), CALLERS[who], body)
            assert json.dumps(answer).replace(ticket.id, unknown) == json.dumps(missing)


def test_collection_routes_for_every_role(api: Api) -> None:
    api.routed(TicketStatus.ASSIGNED, ROADS)
    api.routed(TicketStatus.ASSIGNED, WATER)
    for caller in CALLERS.values():
        for path in ("/tickets", "/agencies", "/stats"):
            status, _, _ = api.call("GET", path, caller)
            assert status == 200, (caller, path)
    status, body, _ = api.call("GET", "/tickets", None)
    assert status == 401 and body["error"] == "unauthenticated"
    status, body, _ = api.call("GET", "/tickets", {"role": "superuser"})
    assert status == 401
    status, body, _ = api.call("GET", "/tickets", {"role": "agency"})
    assert status == 401


def test_agency_lists_only_its_own_tickets_and_cannot_filter_its_way_out(api: Api) -> None:
    mine = {api.routed(TicketStatus.ASSIGNED, ROADS).id for _ in range(2)}
    theirs = api.routed(TicketStatus.ASSIGNED, WATER).id
    api.routed(TicketStatus.TRIAGE)
    status, page, _ = api.call("GET", "/tickets", AGENCY_ROADS)
    assert status == 200 and {t["id"] for t in page["items"]} == mine
    status, page, _ = api.call("GET", "/tickets", AGENCY_ROADS, query={"agency": WATER})
    assert status == 200 and page["items"] == [] and page["next_cursor"] is None
    status, page, _ = api.call("GET", "/tickets", AGENCY_ROADS, query={"status": "TRIAGE"})
    assert status == 200 and page["items"] == []
    status, page, _ = api.call("GET", "/tickets", OPERATOR, query={"agency": WATER})
    assert [t["id"] for t in page["items"]] == [theirs]
    status, stats, _ = api.call("GET", "/stats", AGENCY_ROADS)
    assert stats["total"] == 2 and stats["by_agency"] == {ROADS: 2}


# --- each action and its rules --------------------------------------------------------------------------


def test_reject_sends_the_ticket_back_to_triage_and_tells_the_operators(api: Api) -> None:
    ticket = api.routed(TicketStatus.ASSIGNED, ROADS)
    api.messages("OperatorsQueue")
    reason = "bukan kewenangan kami — ini saluran PDAM"
    status, body, _ = api.call("POST", f"/tickets/{ticket.id}/reject", AGENCY_ROADS, {"reason": reason})
    assert status == 200 and body["ticket"]["status"] == "TRIAGE" and body["ticket"].get("agency_id") is None
    (note,) = api.messages("OperatorsQueue")
    assert note["type"] == "ticket.needs_triage"
    assert note["detail"] == {"reason": reason, "rejected_by": ROADS}
    status, _, _ = api.call("GET", f"/tickets/{ticket.id}", AGENCY_ROADS)
    assert status == 404  # no longer theirs
    status, page, _ = api.call("GET", "/tickets", OPERATOR, query={"status": "TRIAGE"})
    assert ticket.id in {t["id"] for t in page["items"]}
    status, _, _ = api.call("GET", "/tickets", AGENCY_ROADS)
    status, history, _ = api.call("GET", f"/tickets/{ticket.id}/history")
    assert history["chain_intact"] and history["events"][-1]["set"]["agency_id"] is None


def test_reassign_tells_both_agencies(api: Api) -> None:
    ticket = api.routed(TicketStatus.ASSIGNED, ROADS)
    body = {"agency_id": WATER, "reason": "pipa PDAM bocor, bukan jalan"}
    status, answer, _ = api.call("POST", f"/tickets/{ticket.id}/reassign", OPERATOR, body)
    assert status == 200 and answer["ticket"]["agency_id"] == WATER
    assert sorted(answer["notified"]) == [f"agency:{ROADS}", f"agency:{WATER}"]
    (away,) = api.messages(ROADS)
    (assigned,) = api.messages(WATER)
    assert away["type"] == "ticket.reassigned_away" and away["detail"]["reason"] == body["reason"]
    assert assigned["type"] == "ticket.assigned"
    status, answer, _ = api.call("POST", f"/tickets/{ticket.id}/reassign", OPERATOR, body)
    assert status == 422 and answer["fields"][0]["field"] == "agency_id"
    status, _, _ = api.call("GET", f"/tickets/{ticket.id}", AGENCY_ROADS)
    assert status == 404


def test_delegate_needs_a_known_active_agency_and_a_triage_ticket(api: Api) -> None:
    ticket = api.routed(TicketStatus.TRIAGE)
    for agency_id, problem in (("no-such-agency", "no agency"), (HEALTH, "not active")):
        status, body, _ = api.call(
            "POST", f"/tickets/{ticket.id}/delegate", OPERATOR, {"agency_id": agency_id}
        )
        assert status == 422 and body["fields"][0]["field"] == "agency_id" and problem in body["message"]
    status, body, _ = api.call(
        "POST", f"/tickets/{ticket.id}/delegate", OPERATOR, {"agency_id": WATER, "category": "water_utility"}
    )
    assert status == 200 and body["ticket"]["category"] == "water_utility"
    status, body, _ = api.call("POST", f"/tickets/{ticket.id}/delegate", OPERATOR, {"agency_id": ROADS})
    assert status == 409 and body["error"] == "transition_not_allowed" and "reassign" in body["message"]


@pytest.mark.parametrize(
    ("status_before", "action", "caller", "body"),
    [
        (TicketStatus.TRIAGE, "resolve", OPERATOR, {"note": "x"}),
        (TicketStatus.TRIAGE, "replies", OPERATOR, {"text": "Halo"}),
        (TicketStatus.TRIAGE, "reassign", OPERATOR, {"agency_id": WATER, "reason": "bukan jalan"}),
        (TicketStatus.RESOLVED, "reject", AGENCY_ROADS, {"reason": "bukan kami"}),
        (TicketStatus.RESOLVED, "resolve", AGENCY_ROADS, {"note": "lagi"}),
        (TicketStatus.CLOSED, "close", OPERATOR, {"reason": "spam"}),
        (TicketStatus.CLOSED, "delegate", OPERATOR, {"agency_id": WATER}),
    ],
)
def test_disallowed_transitions_are_409_and_change_nothing(
    api: Api, status_before: TicketStatus, action: str, caller: dict[str, str], body: dict[str, Any]
) -> None:
    ticket = api.routed(TicketStatus.ASSIGNED, ROADS)
    ticket = api.set_status(ticket.id, status_before)
    status, answer, _ = api.call("POST", f"/tickets/{ticket.id}/{action}", caller, body)
    assert status == 409 and answer["error"] == "transition_not_allowed", answer
    assert status_before.value in answer["message"]
    assert api.store.require(ticket.id).version == ticket.version


def test_close_reasons_and_duplicates(api: Api) -> None:
    original = api.routed(TicketStatus.TRIAGE)
    copy = api.routed(TicketStatus.TRIAGE)
    path = f"/tickets/{copy.id}/close"
    cases = [
        ({"reason": "duplicate"}, "duplicate_of"),
        ({"reason": "duplicate", "duplicate_of": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "duplicate_of"),
        ({"reason": "duplicate", "duplicate_of": copy.id}, "duplicate_of"),
        ({"reason": "spam", "duplicate_of": original.id}, "duplicate_of"),
        ({"reason": "out_of_jurisdiction"}, "reason"),
    ]
    for body, field in cases:
        status, answer, _ = api.call("POST", path, OPERATOR, body)
        assert status == 422 and answer["fields"][0]["field"] == field, (body, answer)
    status, answer, _ = api.call("POST", path, OPERATOR, {"reason": "duplicate", "duplicate_of": original.id})
    assert status == 200
    assert answer["ticket"]["status"] == "CLOSED" and answer["ticket"]["duplicate_of"] == original.id
    status, answer, _ = api.call("POST", f"/tickets/{original.id}/close", OPERATOR, {"reason": "spam"})
    assert status == 200 and answer["ticket"]["close_reason"] == "spam"


# --- replies ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("a" * 280, True),
        ("a" * 281, False),
        ("🙏🏽" * 140, True),  # an emoji with a skin tone counts 2
        ("🙏🏽" * 141, False),
        ("https://example.com/" + "x" * 300, True),  # a URL counts 23 however long
        ("道" * 141, False),  # CJK counts 2
        ("   ", False),
    ],
)
def test_reply_length_is_counted_as_x_counts_it(api: Api, text: str, ok: bool) -> None:
    ticket = api.routed(TicketStatus.ASSIGNED, ROADS)
    status, body, _ = api.call("POST", f"/tickets/{ticket.id}/replies", AGENCY_ROADS, {"text": text})
    if ok:
        assert status == 202, body
    else:
        assert status == 422 and body["fields"][0]["field"] == "text", body
        assert api.messages("OutboundQueue") == []


def test_second_reply_while_one_is_pending_is_409(api: Api) -> None:
    ticket = api.routed(TicketStatus.ASSIGNED, ROADS)
    status, first, _ = api.call("POST", f"/tickets/{ticket.id}/replies", AGENCY_ROADS, {"text": "Satu"})
    assert status == 202
    status, body, _ = api.call("POST", f"/tickets/{ticket.id}/replies", OPERATOR, {"text": "Dua"})
    assert status == 409 and body["error"] == "reply_pending" and first["reply_id"] in body["message"]
    assert len(api.messages("OutboundQueue")) == 1


def test_reply_goes_to_the_citizens_latest_follow_up(api: Api) -> None:
    ticket = api.routed(TicketStatus.ASSIGNED, ROADS)
    followup_id = "1800000000000009999"
    raw, signature = signed(
        complaint_delivery(
            "masih belum diperbaiki", tweet_id=followup_id, hashtags=(), in_reply_to=ticket.tweet_id
        )
    )
    resp = api.webhook.lambda_handler(
        http_event("POST", raw, {"x-twitter-webhooks-signature": signature}), lambda_context("webhook")
    )
    assert json.loads(resp["body"])["followups"] == 1
    status, body, _ = api.call("POST", f"/tickets/{ticket.id}/replies", AGENCY_ROADS, {"text": "Segera"})
    assert status == 202 and body["in_reply_to_tweet_id"] == followup_id
    (job,) = api.messages("OutboundQueue")
    assert job["detail"]["in_reply_to_tweet_id"] == followup_id


def test_reply_that_cannot_be_queued_is_cancelled_and_503(api: Api) -> None:
    from kemala.queues import QueueUnavailable

    ticket = api.routed(TicketStatus.ASSIGNED, ROADS)
    with mock.patch("kemala.api.actions.send_envelopes", side_effect=QueueUnavailable("down", ["x"])):
        resp = api.module.lambda_handler(
            api_event("POST", f"/tickets/{ticket.id}/replies", AGENCY_ROADS, {"text": "Halo"}),
            lambda_context("api"),
        )
    assert resp["statusCode"] == 503 and json.loads(resp["body"])["error"] == "unavailable"
    after = api.store.require(ticket.id)
    assert after.pending_reply_id is None
    assert [e.type for e in api.store.events(ticket.id)][-2:] == ["reply.requested", "reply.cancelled"]
    status, _, _ = api.call("POST", f"/tickets/{ticket.id}/replies", AGENCY_ROADS, {"text": "Halo"})
    assert status == 202


# --- concurrency --------------------------------------------------------------------------------------


def test_two_concurrent_actions_on_one_ticket_exactly_one_wins(api: Api) -> None:
    ticket = api.routed(TicketStatus.TRIAGE)
    barrier = threading.Barrier(2)
    results: list[tuple[int, dict[str, Any]]] = []
    # Lambda runs concurrent invocations in separate containers: one module instance per thread.
    containers = {agency: load_function("api") for agency in (ROADS, WATER)}

    def delegate(agency_id: str) -> None:
        event = api_event("POST", f"/tickets/{ticket.id}/delegate", OPERATOR, {"agency_id": agency_id})
        barrier.wait()
        resp = containers[agency_id].lambda_handler(event, lambda_context("api"))
        results.append((resp["statusCode"], json.loads(resp["body"])))

    threads = [threading.Thread(target=delegate, args=(a,)) for a in (ROADS, WATER)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for s, _ in results)
    assert statuses == [200, 409], results
    loser = next(body for s, body in results if s == 409)
    assert loser["error"] in {"stale_ticket", "transition_not_allowed"} and ticket.id in loser["message"]
    after = api.store.require(ticket.id)
    winner = next(body for s, body in results if s == 200)
    assert after.agency_id == winner["ticket"]["agency_id"] and after.version == ticket.version + 1
    assert len(api.messages(ROADS)) + len(api.messages(WATER)) == 1


def test_concurrent_replies_queue_exactly_one(api: Api) -> None:
    ticket = api.routed(TicketStatus.ASSIGNED, ROADS)
    barrier = threading.Barrier(3)
    codes: list[int] = []
    containers = [load_function("api") for _ in range(3)]  # one per concurrent invocation, as in Lambda

    def reply(n: int) -> None:
        event = api_event("POST", f"/tickets/{ticket.id}/replies", AGENCY_ROADS, {"text": f"Balasan {n}"})
        barrier.wait()
        codes.append(containers[n].lambda_handler(event, lambda_context("api"))["statusCode"])

    threads = [threading.Thread(target=reply, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [202, 409, 409]
    assert len(api.messages("OutboundQueue")) == 1


# --- listing ------------------------------------------------------------------------------------------


def test_pages_walk_every_ticket_once_with_a_cursor(api: Api) -> None:
    made = {api.routed(TicketStatus.TRIAGE).id for _ in range(3)}
    made |= {api.routed(TicketStatus.ASSIGNED, ROADS).id for _ in range(2)}
    made.add(api.complaint().id)  # RECEIVED
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page, _ = api.call("GET", "/tickets", AUDITOR, query=query)
        assert status == 200 and len(page["items"]) <= 2
        seen.extend(t["id"] for t in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert sorted(seen) == sorted(made)


def test_filters_by_status_agency_category_region_and_date(api: Api) -> None:
    triage = api.routed(TicketStatus.TRIAGE)
    roads = api.routed(TicketStatus.ASSIGNED, ROADS)

    def ids(**query: str) -> set[str]:
        status, page, _ = api.call("GET", "/tickets", OPERATOR, query=query)
        assert status == 200, page
        return {t["id"] for t in page["items"]}

    assert ids(status="TRIAGE") == {triage.id}
    assert ids(agency=ROADS) == {roads.id}
    assert ids(agency=ROADS, status="ASSIGNED") == {roads.id}
    assert ids(agency=ROADS, status="TRIAGE") == set()
    assert ids(category="public_works") == {triage.id, roads.id}
    assert ids(category="health") == set()
    assert ids(region="kota-semarang", status="TRIAGE") == {triage.id}
    today = roads.created_at[:10]
    assert ids(**{"from": today, "to": today}) == {triage.id, roads.id}
    assert ids(**{"to": "2020-01-01"}) == set()
    assert ids(**{"from": roads.created_at}) == {roads.id} | (
        {triage.id} if triage.created_at >= roads.created_at else set()
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "OPEN"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1000"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"agency": "DROP TABLE"}, "agency"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-12-05", "to": "2026-12-01"}, "to"),
        ({"category": "🚧"}, "category"),
    ],
)
def test_bad_list_filters_are_422_naming_the_parameter(api: Api, query: dict[str, str], field: str) -> None:
    status, body, _ = api.call("GET", "/tickets", OPERATOR, query=query)
    assert status == 422 and body["error"] == "invalid_request"
    assert field in {f["field"] for f in body["fields"]}, body


def test_bad_and_foreign_cursors_are_400(api: Api) -> None:
    for _ in range(3):
        api.routed(TicketStatus.ASSIGNED, ROADS)
    status, page, _ = api.call("GET", "/tickets", OPERATOR, query={"limit": "1", "agency": ROADS})
    cursor = page["next_cursor"]
    assert cursor
    for bad in ("garbage", "eyJ2IjoxfQ", "x" * 3000, cursor[:-4]):
        status, body, _ = api.call("GET", "/tickets", OPERATOR, query={"agency": ROADS, "cursor": bad})
        assert status in (400, 422) and body["error"] in {"invalid_cursor", "invalid_request"}, bad
    # A cursor made for one listing cannot be replayed against another (e.g. by another agency).
    status, body, _ = api.call("GET", "/tickets", AGENCY_WATER, query={"cursor": cursor})
    assert status == 400 and body["error"] == "invalid_cursor"
    status, body, _ = api.call("GET", "/tickets", OPERATOR, query={"agency": WATER, "cursor": cursor})
    assert status == 400


# --- bad input anywhere ---------------------------------------------------------------------------------


def test_bad_bodies_are_4xx_with_a_named_problem(api: Api) -> None:
    ticket = api.routed(TicketStatus.TRIAGE)
    path = f"/tickets/{ticket.id}/delegate"
    cases: list[tuple[Any, int, str]] = [
        ("{not json", 400, "malformed_json"),
        ("", 422, "invalid_request"),
        ("[1, 2]", 422, "invalid_request"),
        ({"agency_id": 7}, 422, "invalid_request"),
        ({"agency_id": None}, 422, "invalid_request"),
        ({"agency_id": ROADS, "admin": True}, 422, "invalid_request"),
        ({"agency_id": "🚧 dinas"}, 422, "invalid_request"),
        ({"agency_id": ROADS, "pad": "x" * 20000}, 413, "body_too_large"),
        ('{"agency_id": "\\ud800"}', 422, "invalid_request"),
    ]
    for body, code, error in cases:
        status, answer, _ = api.call("POST", path, OPERATOR, body)
        assert (status, answer["error"]) == (code, error), (body, answer)
        assert answer["message"]
    status, answer, _ = api.call("POST", path, OPERATOR, {"agency_id": 7})
    assert answer["fields"] == [
        {"field": "agency_id", "location": "body", "problem": "Input should be a valid string"}
    ]
    assert api.store.require(ticket.id).version == ticket.version


@pytest.mark.parametrize(
    "ticket_id",
    ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "nope", "😀", "ｔｉｃｋｅｔ", "x" * 5000, "..%2F..%2Fetc", "TICKET#1"],
)
def test_unknown_or_odd_ticket_ids_are_404_on_every_route(api: Api, ticket_id: str) -> None:
    for method, template, body in ROUTES:
        caller = AGENCY_ROADS if template.endswith("/reject") else OPERATOR  # a role that may act
        status, answer, _ = api.call(method, template.replace("{id}", ticket_id), caller, body)
        assert status == 404 and answer["error"] in {"not_found", "no_such_route"}, (template, answer)


def test_unknown_routes_and_methods_are_404_json(api: Api) -> None:
    for method, path in (("GET", "/nope"), ("DELETE", "/tickets"), ("PUT", "/agencies")):
        status, body, _ = api.call(method, path)
        assert status == 404 and body["error"] == "no_such_route"


def test_emoji_and_mixed_scripts_survive_the_round_trip(api: Api) -> None:
    text = "جالان rusak 道路 損壊 🚧🙏🏽👨‍👩‍👧 — mohon segera"
    ticket = api.routed(TicketStatus.ASSIGNED, ROADS, text=f"#KemalaJateng {text}")
    status, body, _ = api.call("GET", f"/tickets/{ticket.id}", AGENCY_ROADS)
    assert status == 200 and body["text"] == f"#KemalaJateng {text}"
    status, body, _ = api.call(
        "POST", f"/tickets/{ticket.id}/reject", AGENCY_ROADS, {"reason": f"bukan kami {text}"}
    )
    assert status == 200 and text in body["ticket"]["triage_reason"]


# --- agencies, stats, the document ---------------------------------------------------------------------


def test_agencies_list_hides_queue_urls_and_secret_names(api: Api) -> None:
    status, body, _ = api.call("GET", "/agencies", AGENCY_WATER)
    assert status == 200 and [a["id"] for a in body["items"]] == sorted([ROADS, WATER, HEALTH])
    assert "queue" not in json.dumps(body) and "secret" not in json.dumps(body)


def test_stats_count_by_status_and_agency_with_median_first_response(api: Api) -> None:
    api.routed(TicketStatus.TRIAGE)
    fast = api.routed(TicketStatus.ASSIGNED, ROADS)
    slow = api.routed(TicketStatus.ASSIGNED, WATER)
    api.set_status(fast.id, TicketStatus.RESPONDED, first_response_at="2999-01-01T00:00:00.000Z")
    api.set_status(slow.id, TicketStatus.RESPONDED, first_response_at="2999-01-01T01:00:00.000Z")
    status, stats, _ = api.call("GET", "/stats", AUDITOR)
    assert status == 200
    assert stats["total"] == 3 and stats["by_status"] == {"RESPONDED": 2, "TRIAGE": 1}
    assert stats["by_agency"] == {ROADS: 1, WATER: 1, "unassigned": 1}
    assert stats["responded"] == 2
    created = [api.store.require(t.id).created_at for t in (fast, slow)]
    from kemala.ids import parse_iso

    expected = sorted(
        (parse_iso(r) - parse_iso(c)).total_seconds()
        for r, c in zip(("2999-01-01T00:00:00.000Z", "2999-01-01T01:00:00.000Z"), created, strict=True)
    )
    assert stats["median_first_response_seconds"] == pytest.approx(sum(expected) / 2)


def test_openapi_document_is_served_without_a_caller(api: Api) -> None:
    status, doc, _ = api.call("GET", "/openapi.json", None)
    assert status == 200 and doc["info"]["title"] == "Kemala API"
    assert "/tickets/{id}/replies" in doc["paths"]


def test_a_notification_that_cannot_be_sent_is_reported_and_the_change_stands(api: Api) -> None:
    from kemala.queues import QueueUnavailable

    ticket = api.routed(TicketStatus.TRIAGE)
    with mock.patch("kemala.api.actions.send_envelopes", side_effect=QueueUnavailable("down", ["x"])):
        status, body, _ = api.call("POST", f"/tickets/{ticket.id}/delegate", OPERATOR, {"agency_id": ROADS})
    assert status == 200 and body["notified"] == [] and body["not_notified"] == [f"agency:{ROADS}"]
    assert api.store.require(ticket.id).status is TicketStatus.ASSIGNED
    status, page, _ = api.call("GET", "/tickets", AGENCY_ROADS)
    assert [t["id"] for t in page["items"]] == [ticket.id]  # the inbox shows it all the same


def test_odd_requests_get_a_named_4xx_never_a_5xx(api: Api) -> None:
    ticket = api.routed(TicketStatus.ASSIGNED, ROADS)
    act = f"/tickets/{ticket.id}/resolve"

    def raw_body(body: str, base64_encoded: bool) -> dict[str, Any]:
        event = api_event("POST", act, AGENCY_ROADS)
        event["body"], event["isBase64Encoded"] = body, base64_encoded
        return event

    cases: list[tuple[dict[str, Any], int, str]] = [
        (raw_body(base64.b64encode(b"\xff\xfe{}").decode(), True), 400, "bad_request"),
        (raw_body("not base64!", True), 400, "bad_request"),
        (
            api_event("POST", act, AGENCY_ROADS, '{"note": "x"}', {"content-type": "text/plain"}),
            415,
            "unsupported_media_type",
        ),
        (api_event("POST", act, AGENCY_ROADS, "1e999"), 422, "invalid_request"),
        (
            api_event("POST", act, AGENCY_ROADS, '{"note": "x"}', {"if-match": "9" * 30}),
            422,
            "invalid_request",
        ),
        (api_event("GET", "/tickets", OPERATOR, query={"from": "2026-13-45"}), 422, "invalid_request"),
        (api_event("GET", "/tickets", {"role": "agency", "agency_id": ["x"]}), 401, "unauthenticated"),
    ]
    for event, status, error in cases:
        resp = api.module.lambda_handler(event, lambda_context("api"))
        assert (resp["statusCode"], json.loads(resp["body"])["error"]) == (status, error), event.get("body")
    for query in ({"to": "9999-12-31"}, {"from": "0001-01-01"}, {"from": "9999-12-31T23:59:59.999+14:00"}):
        status, _, _ = api.call("GET", "/tickets", OPERATOR, query=query)
        assert status == 200, query
    assert api.store.require(ticket.id).version == ticket.version
