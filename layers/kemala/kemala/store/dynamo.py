"""Conversion between Python values and DynamoDB attribute values, and error classification."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


class StorageUnavailable(RuntimeError):
    """DynamoDB or SQS could not be reached or refused for a reason other than our own conditions.

    Callers answer 5xx (webhook) or fail the SQS record so that it is retried.
    """


def _to_dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        # None inside a map is kept (as NULL): an audit event's `set` records cleared fields that way,
        # and its hash covers them, so dropping them would break the chain.
        return {k: _to_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo_value(v) for v in value]
    return value


def _from_dynamo_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_from_dynamo_value(v) for v in value]
    return value


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    """A Python dict (None values dropped, floats allowed) as a DynamoDB item."""
    return {k: _SERIALIZER.serialize(_to_dynamo_value(v)) for k, v in item.items() if v is not None}


def serialize_value(value: Any) -> dict[str, Any]:
    return dict(_SERIALIZER.serialize(_to_dynamo_value(value)))


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _from_dynamo_value(_DESERIALIZER.deserialize(v)) for k, v in item.items()}


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def cancellation_codes(exc: ClientError) -> list[str]:
    """Per-item reasons of a cancelled TransactWriteItems ('None', 'ConditionalCheckFailed', ...)."""
    reasons = exc.response.get("CancellationReasons") or []
    if reasons:
        return [str(r.get("Code", "None")) for r in reasons]
    # Some endpoints only put them in the message: "... [ConditionalCheckFailed, None]"
    message = str(exc.response.get("Error", {}).get("Message", ""))
    if "[" in message:
        return [part.strip() for part in message.rsplit("[", 1)[1].rstrip("]").split(",")]
    return []


AWS_ERRORS = (ClientError, BotoCoreError)
