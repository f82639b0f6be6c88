"""Conversion between Python values and DynamoDB attribute values, and error classification."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from kemala import aws


class StorageUnavailable(RuntimeError):
    """DynamoDB or SQS could not be reached or refused for a reason other than our own conditions.

    Callers answer 5xx (webhook) or fail the SQS record so that it is retried.
    """


def _number(value: int | float | Decimal) -> dict[str, Any]:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"DynamoDB cannot store the number {value}")
        value = Decimal(repr(value))
    return {"N": str(value)}


def to_attribute(value: Any) -> dict[str, Any]:
    """One Python value as a DynamoDB attribute value.

    A direct, single-pass encoder (boto3's TypeSerializer costs several times more CPU on the webhook's
    hot path). None inside a map or list is kept as NULL: an audit event's `set` records cleared fields
    that way, and its hash covers them, so dropping them would break the chain.
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, float, Decimal)):
        return _number(value)
    if isinstance(value, dict):
        return {"M": {str(k): to_attribute(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_attribute(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        if all(isinstance(v, str) for v in value):
            return {"SS": sorted(value)}
        return {"NS": [_number(v)["N"] for v in value]}
    if isinstance(value, bytes):
        return {"B": value}
    raise TypeError(f"cannot store a value of type {type(value).__name__} in DynamoDB")


def _decode_number(text: str) -> int | float:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


def from_attribute(attribute: dict[str, Any]) -> Any:
    """One DynamoDB attribute value as Python: numbers become int or float, sets become lists."""
    ((kind, value),) = attribute.items()
    if kind == "S" or kind == "B" or kind == "BOOL":
        return value
    if kind == "N":
        return _decode_number(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attribute(v) for k, v in value.items()}
    if kind == "L":
        return [from_attribute(v) for v in value]
    if kind == "SS" or kind == "BS":
        return list(value)
    if kind == "NS":
        return [_decode_number(v) for v in value]
    raise TypeError(f"unknown DynamoDB attribute type {kind!r}")


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    """A Python dict as a DynamoDB item; top-level None values are dropped (the attribute is absent)."""
    return {k: to_attribute(v) for k, v in item.items() if v is not None}


def serialize_value(value: Any) -> dict[str, Any]:
    return to_attribute(value)


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_attribute(v) for k, v in item.items()}


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


class DynamoTable:
    """Base of the data-access classes: one table, and a DynamoDB client created on first use (so a
    function that never touches the table never pays for the client at cold start)."""

    def __init__(self, table_name: str, client: Any = None) -> None:
        self.table = table_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client

    def conditional_update(self, what: str, **request: Any) -> dict[str, Any] | None:
        """UpdateItem on this table: the response, or None when its ConditionExpression did not hold.
        Any other failure is StorageUnavailable naming `what` (callers retry or answer 5xx)."""
        try:
            return dict(self.client.update_item(TableName=self.table, **request))
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise StorageUnavailable(f"DynamoDB UpdateItem {what} failed: {exc}") from exc
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB UpdateItem {what} failed: {exc}") from exc
