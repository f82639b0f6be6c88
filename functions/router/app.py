"""RouterFunction: ticket.received -> ASSIGNED (agency queue) or TRIAGE (operators); follow-ups forwarded."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from kemala.models.messages import Envelope
from kemala.routing.router import Router, RouterSettings
from kemala.settings import load_settings

logger = Logger()
metrics = Metrics()
# A batch whose every record failed is reported like any partial failure, not raised: same effect on SQS.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
router = Router.from_settings(load_settings(RouterSettings))


def record_handler(record: SQSRecord) -> dict[str, Any]:
    """One message; any exception fails only this record (SQS redelivers it, then its DLQ)."""
    outcome = router.handle(Envelope.model_validate_json(record.body))
    metrics.add_metric(name=f"Router_{outcome.action}", unit=MetricUnit.Count, value=1)
    if outcome.unreachable_agency:
        metrics.add_metric(name="AgencyQueueUnreachable", unit=MetricUnit.Count, value=1)
        logger.warning("agency queue unreachable", extra={"agency_id": outcome.unreachable_agency})
    logger.info("routed", extra=outcome.model_dump(exclude_none=True))
    return outcome.model_dump()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
