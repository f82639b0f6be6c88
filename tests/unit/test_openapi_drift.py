"""docs/openapi.json is what the API serves, and the template routes exactly the API's paths.

Regenerate the document after changing a route or schema:
    .venv/bin/python -m kemala.api.openapi docs/openapi.json
"""

from __future__ import annotations

import json
from typing import Any

from kemala.api.openapi import render
from kemala.api.routes import OPENAPI_PATH
from kemala_cli.cfn import PROJECT_ROOT, template

from tests.conftest import Stack

COMMITTED = PROJECT_ROOT / "docs" / "openapi.json"
REGENERATE = "run: .venv/bin/python -m kemala.api.openapi docs/openapi.json"


def test_committed_document_equals_the_generated_one() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), f"docs/openapi.json is stale; {REGENERATE}"


def test_served_document_equals_the_committed_one(function_env: Stack) -> None:
    from kemala_cli.lambda_loader import load_function

    from tests.integration.test_api import api_event, lambda_context

    module = load_function("api")
    resp = module.lambda_handler(api_event("GET", OPENAPI_PATH, None), lambda_context("api"))
    assert resp["statusCode"] == 200
    assert json.loads(resp["body"]) == json.loads(COMMITTED.read_text(encoding="utf-8")), REGENERATE


def _template_routes(function: str) -> dict[tuple[str, str], dict[str, Any]]:
    events = template()["Resources"][function]["Properties"]["Events"]
    return {
        (e["Properties"]["Method"].lower(), e["Properties"]["Path"]): e["Properties"]
        for e in events.values()
        if e["Type"] == "HttpApi"
    }


def test_template_routes_every_documented_operation_to_the_api_function() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    documented = {(method, path) for path, ops in document["paths"].items() for method in ops}
    routed = _template_routes("ApiFunction")
    assert set(routed) == documented | {("get", OPENAPI_PATH)}
    assert routed[("get", OPENAPI_PATH)].get("Auth") == {"Authorizer": "NONE"}
    protected = [props for key, props in routed.items() if key != ("get", OPENAPI_PATH)]
    assert all("Auth" not in props for props in protected)  # they take the API's default authorizer


def test_webhook_routes_stay_unauthenticated() -> None:
    routes = _template_routes("WebhookFunction")
    assert routes and all(p.get("Auth") == {"Authorizer": "NONE"} for p in routes.values())


def test_http_api_defaults_to_the_cached_simple_response_authorizer() -> None:
    auth = template()["Resources"]["HttpApi"]["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert authorizer["EnableSimpleResponses"] is True
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assert 0 < authorizer["Identity"]["ReauthorizeEvery"] <= 3600
