"""Moving a DLQ's messages back to their source queue on the local stack.

SQS's own redrive (`StartMessageMoveTask`) is not implemented by moto, so `kemala local redrive` does
what it does: receive from the DLQ, send each message (body and message attributes) to the queue whose
RedrivePolicy names this DLQ, then delete it from the DLQ. On AWS use `aws sqs start-message-move-task`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class RedriveError(ValueError):
    pass


@dataclass
class RedriveResult:
    source: str
    moved: int


def dead_letter_source(sqs: Any, dlq_url: str) -> str:
    """The one queue that dead-letters into `dlq_url`."""
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
    if len(sources) != 1:
        raise RedriveError(f"{dlq_url} is the DLQ of {len(sources)} queues; give the destination explicitly")
    return str(sources[0])


def redrive(sqs: Any, dlq_url: str, destination: str | None = None, limit: int = 0) -> RedriveResult:
    """Move up to `limit` (0: all) messages from the DLQ to `destination` (default: its source)."""
    target = destination or dead_letter_source(sqs, dlq_url)
    moved = 0
    while not limit or moved < limit:
        resp = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10 if not limit else min(10, limit - moved),
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
        )
        messages = resp.get("Messages", [])
        if not messages:
            break
        for message in messages:
            attributes = message.get("MessageAttributes") or {}
            sqs.send_message(
                QueueUrl=target,
                MessageBody=message["Body"],
                **({"MessageAttributes": attributes} if attributes else {}),
            )
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return RedriveResult(target, moved)
