"""Sending envelopes to SQS in batches of ten (the SendMessageBatch maximum)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kemala import aws
from kemala.models.messages import Envelope
from kemala.store.dynamo import AWS_ERRORS, StorageUnavailable


class QueueUnavailable(StorageUnavailable):
    """SQS refused or could not be reached; `failed_ids` are the envelope ids that did not go out."""

    def __init__(self, message: str, failed_ids: list[str]) -> None:
        super().__init__(message)
        self.failed_ids = failed_ids


def send_envelopes(queue_url: str, envelopes: Sequence[Envelope], client: Any = None) -> None:
    """Send every envelope or raise QueueUnavailable listing the ones that were not accepted."""
    sqs = client or aws.client("sqs")
    failed: list[str] = []
    last_error = ""
    for start in range(0, len(envelopes), 10):
        chunk = envelopes[start : start + 10]
        entries = [
            {
                "Id": str(i),
                "MessageBody": env.model_dump_json(),
                "MessageAttributes": {"type": {"DataType": "String", "StringValue": env.type.value}},
            }
            for i, env in enumerate(chunk)
        ]
        try:
            resp = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except AWS_ERRORS as exc:
            failed.extend(env.id for env in chunk)
            last_error = str(exc)
            continue
        for entry in resp.get("Failed", []):
            failed.append(chunk[int(entry["Id"])].id)
            last_error = str(entry.get("Message", entry.get("Code", "")))
    if failed:
        raise QueueUnavailable(f"SQS did not accept {len(failed)} message(s): {last_error}", failed)
