"""ExporterFunction: once a day, start a point-in-time export of TicketsTable into the audit bucket."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from kemala.audit_export import ExporterSettings, TableExports, start_daily_export
from kemala.ids import parse_iso, utc_now
from kemala.settings import load_settings

logger = Logger()
metrics = Metrics()
settings = load_settings(ExporterSettings)
exports = TableExports(settings.tickets_table_arn)


@logger.inject_lambda_context
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    # The schedule's own time names the day, so a delayed retry still lands in the same prefix.
    now = parse_iso(event.time) if event.get("time") else utc_now()
    outcome = start_daily_export(settings, now, exports)
    metrics.add_metric(name="ExportsStarted", unit=MetricUnit.Count, value=int(outcome.started))
    metrics.add_metric(name="ExportFailures", unit=MetricUnit.Count, value=outcome.recent_failures)
    if outcome.recent_failures:
        logger.error("recent table exports failed", extra={"failures": outcome.recent_failures})
    logger.info("table export", extra=outcome.model_dump(mode="json"))
    return outcome.model_dump(mode="json")
