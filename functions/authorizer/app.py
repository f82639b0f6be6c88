"""AuthorizerFunction: the HTTP API's Lambda authorizer (payload 2.0, simple responses)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from kemala.api.authorizer import AuthorizerSettings, authorize
from kemala.settings import load_settings
from kemala.store.tokens import TokenStore

logger = Logger()
store = TokenStore(load_settings(AuthorizerSettings).directory_table)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Payload 2.0 in, simple response out: `{"isAuthorized", "context"?}` (plain dicts: the event needs
    nothing more than its headers, and the data-class import costs cold-start time on every new token)."""
    decision = authorize(event.get("headers"), store)
    logger.info(
        "authorizer decision",
        extra={"authorized": decision.authorized, "reason": decision.reason, **decision.context},
    )
    if not decision.authorized:
        return {"isAuthorized": False}
    return {"isAuthorized": True, "context": decision.context}
