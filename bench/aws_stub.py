"""An in-memory AWS for benchmarks: botocore's HTTP send answered with canned responses.

Everything above the wire (parameter validation, serialisation, signing, response parsing, MD5 checks)
runs as in production; only the network round trip is replaced. Counts requests per operation.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.httpsession import URLLib3Session

CALLS: Counter[str] = Counter()


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _answer(operation: str, request: dict[str, Any]) -> dict[str, Any]:
    if operation == "AmazonSQS.SendMessageBatch":
        return {
            "Successful": [
                {"Id": e["Id"], "MessageId": str(uuid.uuid4()), "MD5OfMessageBody": _md5(e["MessageBody"])}
                for e in request["Entries"]
            ],
            "Failed": [],
        }
    if operation == "AmazonSQS.SendMessage":
        return {"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": _md5(request["MessageBody"])}
    if operation == "secretsmanager.GetSecretValue":
        return {"Name": request["SecretId"], "ARN": "arn:aws:secretsmanager:x", "SecretString": SECRET_STRING}
    return {}  # DynamoDB writes succeed; GetItem finds nothing


SECRET_STRING = json.dumps({"consumer_secret": "bench-secret"})


def _send(self: URLLib3Session, request: Any) -> AWSResponse:
    operation = request.headers.get("X-Amz-Target", b"")
    operation = operation.decode() if isinstance(operation, bytes) else str(operation)
    CALLS[operation] += 1
    body = request.body or b"{}"
    parsed = json.loads(body if isinstance(body, (bytes, str)) else body.read())
    payload = json.dumps(_answer(operation, parsed)).encode()
    headers = {"x-amzn-RequestId": "bench", "Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse(request.url, 200, headers, _Raw(payload))


def install() -> None:
    URLLib3Session.send = _send  # type: ignore[method-assign]
