"""EscalatorFunction: every 15 minutes, escalate overdue ASSIGNED tickets; tell the agency and operators."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from kemala.escalation import Escalator, EscalatorSettings
from kemala.settings import load_settings

logger = Logger()
metrics = Metrics()
escalator = Escalator.from_settings(load_settings(EscalatorSettings))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The clock, not the schedule's time: a late retry must not write events dated before newer ones.
    outcome = escalator.run()
    metrics.add_metric(name="Escalated", unit=MetricUnit.Count, value=outcome.escalated)
    metrics.add_metric(name="EscalationResent", unit=MetricUnit.Count, value=outcome.resent)
    metrics.add_metric(name="EscalationNotSent", unit=MetricUnit.Count, value=outcome.not_sent)
    if outcome.not_sent:
        logger.error(
            "escalation notices not sent; the next run resends them", extra={"tickets": outcome.not_sent}
        )
    if outcome.capped:
        logger.warning("escalation run capped; the next run continues", extra={"overdue": outcome.overdue})
    logger.info("escalation run", extra=outcome.model_dump(mode="json"))
    return outcome.model_dump(mode="json")
