"""Lambda's SQS event source mappings, driven locally: poller threads for each mapping in the template.

Semantics follow Lambda's SQS poller:
  - `concurrency` pollers per mapping (ScalingConfig.MaximumConcurrency, else DEFAULT_POLLERS), each
    invoking its own batches, so batches run concurrently as on Lambda;
  - ReceiveMessage up to BatchSize (several receives when BatchSize > 10), waiting up to
    MaximumBatchingWindowInSeconds to fill the batch;
  - the event is Lambda's (`Records` with messageId, receiptHandle, body, attributes incl.
    ApproximateReceiveCount, messageAttributes, eventSourceARN, awsRegion);
  - with `ReportBatchItemFailures`, the successes are deleted and the listed failures are left to
    reappear after the visibility timeout; an invalid itemIdentifier fails the whole batch, as on AWS;
  - a handler that raises fails the whole batch (nothing deleted);
  - the queue's RedrivePolicy moves a message to its DLQ once its receive count passes maxReceiveCount:
    moto applies it on ReceiveMessage, as SQS does, so the driver needs no redrive logic of its own
    (tests/e2e/test_local_stack.py proves it).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from kemala_cli.local.functions import FunctionError, LocalFunction

log = logging.getLogger("kemala.local")
# Lambda polls a standard queue with several pollers and invokes batches concurrently; three keep the
# demo's router from becoming a single-file queue without starving the one CPU-bound process.
DEFAULT_POLLERS = 3


@dataclass(frozen=True)
class Mapping:
    logical_id: str
    function: str  # logical id
    queue_url: str
    queue_arn: str
    batch_size: int
    window_seconds: float
    report_failures: bool
    enabled: bool = True
    concurrency: int = 3  # concurrent batches, like Lambda's pollers (ScalingConfig.MaximumConcurrency)


def read_mappings(
    translated_mappings: dict[str, dict[str, Any]],
    resolve: Any,
    function_names: dict[str, str],
    queues_by_arn: dict[str, str],
) -> list[Mapping]:
    """The SQS event source mappings (resolved); mappings on other sources are logged and skipped."""
    mappings = []
    for logical_id, resource in translated_mappings.items():
        props = resolve(resource.get("Properties") or {})
        arn = str(props.get("EventSourceArn", ""))
        if arn not in queues_by_arn:
            log.warning("%s: event source %s is not a local SQS queue; not driven locally", logical_id, arn)
            continue
        function = str(props["FunctionName"]).rsplit(":", 1)[-1]
        if function not in function_names:
            log.warning("%s: function %s has no local code; not driven", logical_id, function)
            continue
        mappings.append(
            Mapping(
                logical_id=logical_id,
                function=function_names[function],
                queue_url=queues_by_arn[arn],
                queue_arn=arn,
                batch_size=int(props.get("BatchSize", 10)),
                window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                report_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                enabled=bool(props.get("Enabled", True)),
                concurrency=int(
                    (props.get("ScalingConfig") or {}).get("MaximumConcurrency", DEFAULT_POLLERS)
                ),
            )
        )
    return mappings


def lambda_record(message: dict[str, Any], mapping: Mapping, region: str) -> dict[str, Any]:
    """One SQS message as Lambda's SQS event record."""
    attributes = {k: str(v) for k, v in (message.get("Attributes") or {}).items()}
    message_attributes = {}
    for name, attr in (message.get("MessageAttributes") or {}).items():
        message_attributes[name] = {
            "stringValue": attr.get("StringValue"),
            "binaryValue": attr.get("BinaryValue"),
            "stringListValues": attr.get("StringListValues", []),
            "binaryListValues": attr.get("BinaryListValues", []),
            "dataType": attr.get("DataType"),
        }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": mapping.queue_arn,
        "awsRegion": region,
    }


def failed_ids(mapping: Mapping, records: list[dict[str, Any]], result: Any) -> set[str] | None:
    """Message ids to leave on the queue; None means the whole batch failed."""
    if not mapping.report_failures:
        return set()
    if result is None:
        return set()
    if not isinstance(result, dict):
        return None
    failures = result.get("batchItemFailures") or []
    ids = {r["messageId"] for r in records}
    out = set()
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not item or item not in ids:
            log.warning("%s: invalid itemIdentifier %r: the whole batch fails", mapping.logical_id, item)
            return None
        out.add(item)
    return out


class Poller(threading.Thread):
    """Polls one mapping's queue until stopped."""

    def __init__(
        self, mapping: Mapping, function: LocalFunction, sqs: Any, region: str, stop: threading.Event
    ) -> None:
        super().__init__(name=f"sqs-{mapping.logical_id}-{id(self) % 1000}", daemon=True)
        self.mapping = mapping
        self.function = function
        self.sqs = sqs
        self.region = region
        self.stop_event = stop
        self.batches = 0
        self.deleted = 0
        self.failed = 0

    def _receive(self, max_messages: int, wait: float) -> list[dict[str, Any]]:
        resp = self.sqs.receive_message(
            QueueUrl=self.mapping.queue_url,
            MaxNumberOfMessages=max(1, min(10, max_messages)),
            WaitTimeSeconds=int(wait),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(resp.get("Messages", []))

    def _batch(self) -> list[dict[str, Any]]:
        messages = self._receive(self.mapping.batch_size, 1)
        if not messages:
            return []
        deadline = time.monotonic() + self.mapping.window_seconds
        while len(messages) < self.mapping.batch_size and not self.stop_event.is_set():
            remaining = deadline - time.monotonic()
            more = self._receive(self.mapping.batch_size - len(messages), 1 if remaining >= 1 else 0)
            if not more and remaining <= 0:
                break
            messages.extend(more)
        return messages

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                messages = self._batch()
            except Exception as exc:  # moto shutting down, or a transient error: back off, retry
                if self.stop_event.is_set():
                    return
                log.warning("%s: ReceiveMessage failed: %s", self.mapping.logical_id, exc)
                self.stop_event.wait(1)
                continue
            if messages:
                self.process(messages)

    def process(self, messages: list[dict[str, Any]]) -> None:
        records = [lambda_record(m, self.mapping, self.region) for m in messages]
        self.batches += 1
        try:
            result = self.function.invoke({"Records": records})
            failures = failed_ids(self.mapping, records, result)
        except FunctionError as exc:
            log.warning("%s: batch of %d failed: %s", self.mapping.logical_id, len(records), exc)
            failures = None
        if failures is None:
            self.failed += len(records)
            return
        self.failed += len(failures)
        done = [r for r in records if r["messageId"] not in failures]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)]
            resp = self.sqs.delete_message_batch(QueueUrl=self.mapping.queue_url, Entries=entries)
            self.deleted += len(resp.get("Successful", []))
