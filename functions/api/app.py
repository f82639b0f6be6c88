"""ApiFunction: the operators', agencies' and auditors' HTTP API (routes in kemala.api.routes)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from kemala.api.context import ApiContext, ApiSettings
from kemala.api.routes import create_app, refuse_bad_body
from kemala.settings import load_settings

logger = Logger()
metrics = Metrics()
ctx = ApiContext.from_settings(load_settings(ApiSettings))
app = create_app(ctx)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return refuse_bad_body(event, ctx.max_body_bytes) or app.resolve(event, context)
