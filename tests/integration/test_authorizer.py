"""functions/authorizer on moto: token -> simple response with the role context, and end to end with the
API (the context API Gateway passes on is exactly what the API reads)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kemala.ids import iso, utc_now
from kemala.store.tokens import Role, TokenRecord, TokenStore, hash_token, new_token
from kemala_cli.lambda_loader import load_function

from tests.conftest import Stack
from tests.integration.test_api import api_event, lambda_context


def authorizer_event(authorization: str | None) -> dict[str, Any]:
    """An HTTP API payload 2.0 authorizer request, as API Gateway sends it."""
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:ap-southeast-3:123456789012:api/$default/GET/tickets",
        "identitySource": [authorization] if authorization else [],
        "routeKey": "GET /tickets",
        "rawPath": "/tickets",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "http": {"method": "GET", "path": "/tickets", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "req",
            "routeKey": "GET /tickets",
            "stage": "$default",
        },
    }


class Tokens:
    def __init__(self, stack: Stack) -> None:
        self.store = TokenStore(stack.tables["DirectoryTable"])
        self.module = load_function("authorizer")

    def issue(self, role: Role, agency_id: str | None = None) -> str:
        token = new_token()
        record = TokenRecord(
            token_hash=hash_token(token), role=role, agency_id=agency_id, created_at=iso(utc_now())
        )
        self.store.put(record)
        return token

    def decide(self, authorization: str | None) -> dict[str, Any]:
        return dict(self.module.lambda_handler(authorizer_event(authorization), lambda_context("authorizer")))


@pytest.fixture
def tokens(function_env: Stack) -> Tokens:
    return Tokens(function_env)


def test_each_role_gets_its_context(tokens: Tokens) -> None:
    for role, agency in ((Role.OPERATOR, None), (Role.AUDITOR, None), (Role.AGENCY, "pdam-kota-semarang")):
        token = tokens.issue(role, agency)
        answer = tokens.decide(f"Bearer {token}")
        assert answer["isAuthorized"] is True
        expected = {"role": role.value, "token_id": hash_token(token)[:12]}
        if agency:
            expected["agency_id"] = agency
        assert answer["context"] == expected
        assert token not in json.dumps(answer)


def test_scheme_is_case_insensitive(tokens: Tokens) -> None:
    token = tokens.issue(Role.OPERATOR)
    assert tokens.decide(f"bearer {token}")["isAuthorized"] is True
    assert tokens.decide(f"BEARER   {token}  ")["isAuthorized"] is True


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer kml_" + "A" * 43,  # well formed, never issued
        "Bearer kml_short",
        "Bearer " + "x" * 10000,
        "Bearer kml_" + "🙏" * 43,
        "Bearer ' OR 1=1 --",
    ],
)
def test_anything_but_a_live_token_is_refused(tokens: Tokens, authorization: str | None) -> None:
    tokens.issue(Role.OPERATOR)
    assert tokens.decide(authorization) == {"isAuthorized": False}


def test_a_revoked_token_is_refused(tokens: Tokens) -> None:
    token = tokens.issue(Role.AGENCY, "pdam-kota-semarang")
    assert tokens.decide(f"Bearer {token}")["isAuthorized"] is True
    assert tokens.store.revoke(hash_token(token), iso(utc_now())) is True
    assert tokens.decide(f"Bearer {token}")["isAuthorized"] is False
    assert tokens.store.revoke(hash_token(token), iso(utc_now())) is False  # the first revocation stands


def test_the_token_is_stored_only_as_its_hash(tokens: Tokens, function_env: Stack) -> None:
    token = tokens.issue(Role.OPERATOR)
    items = function_env.ddb.scan(TableName=function_env.tables["DirectoryTable"])["Items"]
    assert token not in json.dumps(items)
    assert any(i["pk"]["S"] == f"TOKEN#{hash_token(token)}" for i in items)


def test_directory_outage_raises_so_the_denial_is_not_cached(
    tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kemala.store.dynamo import StorageUnavailable

    token = tokens.issue(Role.OPERATOR)
    monkeypatch.setattr(tokens.module.store, "table", "no-such-table")
    with pytest.raises(StorageUnavailable):
        tokens.decide(f"Bearer {token}")


def test_authorizer_context_drives_the_api(tokens: Tokens) -> None:
    """What API Gateway does: call the authorizer, then hand its context to the API as authorizer.lambda."""
    api = load_function("api")
    auditor = tokens.issue(Role.AUDITOR)
    context = tokens.decide(f"Bearer {auditor}")["context"]
    resp = api.lambda_handler(api_event("GET", "/tickets", context), lambda_context("api"))
    assert resp["statusCode"] == 200
    resp = api.lambda_handler(
        api_event("POST", "/tickets/01ARZ3NDEKTSV4RRFFQ69G5FAV/close", context, {"reason": "spam"}),
        lambda_context("api"),
    )
    assert resp["statusCode"] == 403 and json.loads(resp["body"])["error"] == "forbidden"
