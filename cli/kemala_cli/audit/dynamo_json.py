"""Decoding DynamoDB JSON (`{"S": ...}`, `{"N": ...}`, `{"M": {...}}` ...) as found in table exports.

Numbers become int when integral, float otherwise, as the ticket store reads them, so the hash chain
recomputes over the same values. Binary values stay base64 text (we store none). Anything else is an
`ExportFormatError` that names the file, the line and the attribute.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any


class ExportFormatError(ValueError):
    """The export is not what DynamoDB writes (or was damaged); the message says where."""


def _number(text: str, where: str) -> int | float:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ExportFormatError(f"{where}: {text!r} is not a number") from None
    return int(value) if value == value.to_integral_value() else float(value)


def decode_value(av: Any, where: str) -> Any:
    """One attribute value; `where` (file:line attribute-path) goes into any error."""
    if not isinstance(av, dict) or len(av) != 1:
        raise ExportFormatError(f"{where}: expected one DynamoDB type tag, got {json.dumps(av)[:80]}")
    ((tag, raw),) = av.items()
    if tag in ("S", "B"):
        return raw
    if tag == "N":
        return _number(raw, where)
    if tag == "BOOL":
        return bool(raw)
    if tag == "NULL":
        return None
    if tag == "M":
        return {k: decode_value(v, f"{where}.{k}") for k, v in raw.items()}
    if tag == "L":
        return [decode_value(v, f"{where}[{i}]") for i, v in enumerate(raw)]
    if tag in ("SS", "BS"):
        return sorted(raw)
    if tag == "NS":
        return sorted(_number(v, where) for v in raw)
    raise ExportFormatError(f"{where}: unknown DynamoDB attribute type {tag!r}")


def decode_line(line: str, where: str) -> dict[str, Any]:
    """One line of a data file: `{"Item": {name: attribute value, ...}}`."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ExportFormatError(f"{where}: not JSON ({exc.msg})") from None
    item = record.get("Item") if isinstance(record, dict) else None
    if not isinstance(item, dict):
        raise ExportFormatError(f"{where}: expected an object with an 'Item' map")
    return {name: decode_value(av, f"{where}: attribute {name}") for name, av in item.items()}
