"""Lambda's SQS partial-batch semantics, as the local driver applies them."""

from __future__ import annotations

import threading
from typing import Any

from kemala_cli.local.functions import FunctionError
from kemala_cli.local.sqs_driver import Mapping, Poller

MAPPING = Mapping(
    "M", "Fn", "http://q", "arn:aws:sqs:r:1:q", batch_size=10, window_seconds=0, report_failures=True
)


class FakeSqs:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.deleted.extend(e["ReceiptHandle"] for e in Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}


class Fn:
    def __init__(self, result: Any = None, error: bool = False) -> None:
        self.result, self.error, self.events = result, error, []

    def invoke(self, event: Any) -> Any:
        self.events.append(event)
        if self.error:
            raise FunctionError("boom")
        return self.result


def messages(n: int) -> list[dict[str, Any]]:
    return [
        {
            "MessageId": f"m{i}",
            "ReceiptHandle": f"r{i}",
            "Body": "{}",
            "Attributes": {"ApproximateReceiveCount": "2"},
            "MessageAttributes": {"type": {"DataType": "String", "StringValue": "ticket.received"}},
        }
        for i in range(n)
    ]


def run(fn: Fn, mapping: Mapping = MAPPING, n: int = 3) -> FakeSqs:
    sqs = FakeSqs()
    Poller(mapping, fn, sqs, "ap-southeast-3", threading.Event()).process(messages(n))  # type: ignore[arg-type]
    return sqs


def test_the_event_is_lambdas_sqs_event() -> None:
    fn = Fn({"batchItemFailures": []})
    run(fn, n=1)
    record = fn.events[0]["Records"][0]
    assert record["messageId"] == "m0" and record["receiptHandle"] == "r0" and record["body"] == "{}"
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert record["messageAttributes"]["type"]["stringValue"] == "ticket.received"
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == MAPPING.queue_arn
    assert record["awsRegion"] == "ap-southeast-3"


def test_reported_failures_stay_and_successes_are_deleted() -> None:
    sqs = run(Fn({"batchItemFailures": [{"itemIdentifier": "m1"}]}))
    assert sqs.deleted == ["r0", "r2"]


def test_a_raising_handler_or_a_bad_identifier_fails_the_whole_batch() -> None:
    assert run(Fn(error=True)).deleted == []
    assert run(Fn({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]})).deleted == []
    assert run(Fn({"batchItemFailures": [{"itemIdentifier": ""}]})).deleted == []


def test_without_report_batch_item_failures_success_deletes_all() -> None:
    plain = Mapping("M", "Fn", "http://q", "arn", 10, 0, report_failures=False)
    assert run(Fn({"batchItemFailures": [{"itemIdentifier": "m1"}]}), plain).deleted == ["r0", "r1", "r2"]
