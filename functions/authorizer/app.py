"""AuthorizerFunction: the HTTP API's Lambda authorizer (payload 2.0, simple responses)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerResponseV2,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from kemala.api.authorizer import authorize
from kemala.settings import load_settings
from kemala.store.tokens import TokenStore
from pydantic import BaseModel, ConfigDict, Field


class AuthorizerSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    directory_table: str = Field(min_length=1)


logger = Logger()
store = TokenStore(load_settings(AuthorizerSettings).directory_table)


@logger.inject_lambda_context
@event_source(data_class=APIGatewayAuthorizerEventV2)
def lambda_handler(event: APIGatewayAuthorizerEventV2, context: LambdaContext) -> dict[str, Any]:
    decision = authorize(event.headers, store)
    logger.info(
        "authorizer decision",
        extra={"authorized": decision.authorized, "reason": decision.reason, **decision.context},
    )
    return APIGatewayAuthorizerResponseV2(authorize=decision.authorized, context=decision.context).asdict()
