"""The local HTTP API: route selection, the v2 event, the authorizer, limits."""

from __future__ import annotations

import json
from typing import Any

from kemala_cli.local.functions import FunctionError
from kemala_cli.local.http_api import MAX_PAYLOAD_BYTES, Authorizer, HttpApi, Request, Route


class FakeFunction:
    def __init__(self, answer: Any = None, error: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.answer = answer
        self.error = error

    def invoke(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if self.error:
            raise FunctionError("boom")
        return (
            self.answer if self.answer is not None else {"statusCode": 200, "body": json.dumps({"ok": True})}
        )


AUTH = Authorizer("Token", "Auth", ("$request.header.Authorization",), ttl_seconds=300, simple_responses=True)


def api(auth_answer: Any = None, **functions: FakeFunction) -> tuple[HttpApi, dict[str, FakeFunction]]:
    fns: dict[str, Any] = {
        "Api": FakeFunction(),
        "Hook": FakeFunction(),
        "Any": FakeFunction(),
        "Auth": FakeFunction(auth_answer or {"isAuthorized": True, "context": {"role": "operator"}}),
        **functions,
    }
    routes = sorted(
        [
            Route("GET", "/tickets/{id}", "Api", AUTH),
            Route("GET", "/tickets/stats", "Api", AUTH),
            Route("POST", "/webhooks/x", "Hook", None),
            Route("ANY", "$default", "Any", None),
        ],
        key=lambda r: r.specificity,
        reverse=True,
    )
    return HttpApi(routes, fns, "ap-southeast-3"), fns  # type: ignore[arg-type]


def req(method: str, path: str, query: str = "", body: bytes = b"", **headers: str) -> Request:
    return Request(
        method, path, query, {k.replace("_", "-"): v for k, v in headers.items()}, body, "127.0.0.1"
    )


def test_the_most_specific_route_wins_and_the_event_is_payload_v2() -> None:
    http, fns = api()
    reply = http.handle(req("GET", "/tickets/01ABC", "a=1&a=2&b=", authorization="Bearer t", x_custom="v"))
    assert reply.status == 200
    event = fns["Api"].events[0]
    assert event["version"] == "2.0" and event["routeKey"] == "GET /tickets/{id}"
    assert event["pathParameters"] == {"id": "01ABC"}
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["headers"]["x-custom"] == "v"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["authorizer"] == {"lambda": {"role": "operator"}}
    http.handle(req("GET", "/tickets/stats", authorization="Bearer t"))
    assert fns["Api"].events[-1]["routeKey"] == "GET /tickets/stats"  # static beats {id}


def test_unmatched_requests_fall_to_default_and_non_utf8_bodies_are_base64() -> None:
    http, fns = api()
    assert http.handle(req("DELETE", "/webhooks/x", body=b"\xff\xfe")).status == 200
    event = fns["Any"].events[0]
    assert event["routeKey"] == "$default" and event["isBase64Encoded"] is True and event["body"] == "//4="


def test_unauthenticated_routes_skip_the_authorizer() -> None:
    http, fns = api()
    assert http.handle(req("POST", "/webhooks/x", body=b"{}")).status == 200
    assert fns["Auth"].events == []
    assert (
        fns["Hook"].events[0]["body"] == "{}" and "authorizer" not in fns["Hook"].events[0]["requestContext"]
    )


def test_authorizer_401_403_500_and_cache() -> None:
    http, fns = api()
    assert http.handle(req("GET", "/tickets/1")).status == 401  # no identity source: not even called
    assert fns["Auth"].events == []
    http.handle(req("GET", "/tickets/1", authorization="Bearer t"))
    http.handle(req("GET", "/tickets/2", authorization="Bearer t"))
    assert len(fns["Auth"].events) == 1  # cached by identity for the TTL
    assert (
        fns["Auth"].events[0]["identitySource"] == ["Bearer t"] and fns["Auth"].events[0]["type"] == "REQUEST"
    )
    denied, _ = api({"isAuthorized": False})
    assert denied.handle(req("GET", "/tickets/1", authorization="Bearer x")).status == 403
    broken, _ = api(Auth=FakeFunction(error=True))
    assert broken.handle(req("GET", "/tickets/1", authorization="Bearer x")).status == 500


def test_handler_errors_are_500_and_oversized_bodies_413() -> None:
    http, _ = api(Hook=FakeFunction(error=True))
    reply = http.handle(req("POST", "/webhooks/x", body=b"{}"))
    assert reply.status == 500 and json.loads(reply.body) == {"message": "Internal Server Error"}
    assert http.handle(req("POST", "/webhooks/x", body=b"x" * (MAX_PAYLOAD_BYTES + 1))).status == 413


def test_proxy_responses_map_to_http() -> None:
    answer = {
        "statusCode": 201,
        "headers": {"X-A": "1"},
        "body": "aGk=",
        "isBase64Encoded": True,
        "cookies": ["c=1"],
    }
    http, _ = api(Hook=FakeFunction(answer))
    reply = http.handle(req("POST", "/webhooks/x"))
    assert (reply.status, reply.headers["x-a"], reply.body, reply.cookies) == (201, "1", b"hi", ["c=1"])
    plain, _ = api(Hook=FakeFunction({"just": "json"}))
    reply = plain.handle(req("POST", "/webhooks/x"))
    assert reply.status == 200 and json.loads(reply.body) == {"just": "json"}
