"""The SQS side of reply jobs: parse a record, and turn RetryLater / DeadLetter into queue operations.

RetryLater sets the record's visibility (ChangeMessageVisibility) and re-raises, so BatchProcessor reports
it as a batch item failure and SQS hands it back when the wait is over: no busy loop, no lost job.
DeadLetter copies the message to OutboundDLQ with the reason and lets the original be deleted.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from kemala import aws
from kemala.models.messages import Envelope
from kemala.replies.service import DeadLetter, ReplyResult, ReplyService, RetryLater
from kemala.store.dynamo import AWS_ERRORS, StorageUnavailable

logger = Logger(child=True)


class ReplyJobs:
    def __init__(self, service: ReplyService, queue_url: str, dlq_url: str, client: Any = None) -> None:
        self.service = service
        self.queue_url = queue_url
        self.dlq_url = dlq_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("sqs")
        return self._client

    def process(self, record: SQSRecord, remaining_ms: int | None = None) -> ReplyResult | None:
        """Handle one record; None when it was parked in the DLQ. Raises RetryLater (a batch failure)."""
        try:
            envelope = Envelope.model_validate_json(record.body)
            return self.service.handle(envelope, remaining_ms / 1000 if remaining_ms else None)
        except ValidationError as exc:
            self.dead_letter(record, f"malformed reply job: {_first_error(exc)}")
        except DeadLetter as exc:
            self.dead_letter(record, exc.reason)
        except RetryLater as later:
            self.postpone(record, later.seconds)
            raise
        return None

    def postpone(self, record: SQSRecord, seconds: int) -> None:
        """Hide the record for `seconds`; if that fails, the queue's own visibility (180 s) applies."""
        try:
            self.client.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=seconds
            )
        except AWS_ERRORS as exc:
            logger.warning("could not postpone reply job", extra={"error": str(exc)})

    def dead_letter(self, record: SQSRecord, reason: str) -> None:
        logger.error("reply job dead-lettered", extra={"reason": reason, "message_id": record.message_id})
        try:
            self.client.send_message(
                QueueUrl=self.dlq_url,
                MessageBody=record.body,
                MessageAttributes={
                    "dead_letter_reason": {"DataType": "String", "StringValue": reason[:1000]}
                },
            )
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"could not park the reply job in the DLQ: {exc}") from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return f"{where}: {err['msg']}"
