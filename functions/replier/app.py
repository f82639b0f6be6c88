"""ReplierFunction: reply jobs from OutboundQueue, posted to X as the agency, with partial batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from kemala.replies import ReplierSettings
from kemala.replies.service import ReplyService, RetryLater
from kemala.replies.sqs import ReplyJobs
from kemala.settings import load_settings
from kemala.store.agencies import AgencyStore
from kemala.store.reply_claims import ReplyClaims
from kemala.store.tickets import TicketStore

logger = Logger()
metrics = Metrics()
settings = load_settings(ReplierSettings)
# A batch where every job waits for a rate-limit reset is not an error of the function.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
service = ReplyService(
    tickets=TicketStore(settings.tickets_table),
    agencies=AgencyStore(settings.directory_table),
    claims=ReplyClaims(settings.idempotency_table),
    x_base_url=settings.x_api_base_url,
)
jobs = ReplyJobs(service, settings.outbound_queue_url, settings.outbound_dlq_url)


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    try:
        result = jobs.process(record, lambda_context.get_remaining_time_in_millis())
    except RetryLater as later:
        metrics.add_metric(name="ReplyRetryLater", unit=MetricUnit.Count, value=1)
        logger.info("reply postponed", extra={"seconds": later.seconds, "reason": later.reason})
        raise
    outcome = result.outcome.value if result else "dead_lettered"
    kind = "Ack" if result and result.kind == "ack" else "Reply"  # Ack_failed: the province's own post
    metrics.add_metric(name=f"{kind}_{outcome}", unit=MetricUnit.Count, value=1)
    logger.info("reply job handled", extra={"outcome": outcome, **(result.model_dump() if result else {})})


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
