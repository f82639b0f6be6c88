"""Paged reads of tickets through TicketsTable's two GSIs (never a table scan).

- AgencyInbox: gsi1pk `AGENCY#<id>`, gsi1sk `<status>#<due_at or created_at>#<id>`
- StatusBoard: gsi2pk `STATUS#<status>`, gsi2sk `<due_at or created_at>#<id>`

Only ticket items carry these keys, so a query reads tickets and nothing else. Filters that no key covers
(category, region, created_at range) are DynamoDB FilterExpressions; a page stops after `max_evaluated`
items read, so a very selective filter gives short pages rather than a slow request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from kemala.models.ticket import Ticket, TicketStatus
from kemala.store.dynamo import AWS_ERRORS, StorageUnavailable, deserialize, error_code
from kemala.store.tickets import TicketStore

INDEX_KEYS = {"AgencyInbox": ("gsi1pk", "gsi1sk"), "StatusBoard": ("gsi2pk", "gsi2sk")}

PageKey = dict[str, str]  # pk, sk and the index's two keys: where a page starts or ended


def agency_partition(agency_id: str) -> str:
    return f"AGENCY#{agency_id}"


def status_partition(status: TicketStatus) -> str:
    return f"STATUS#{status.value}"


class BadStartKey(ValueError):
    """DynamoDB refused the start key: it does not belong to this index or partition."""


@dataclass(frozen=True)
class TicketFilter:
    """Conditions on attributes that no index key covers; `created_before` is exclusive."""

    category: str | None = None
    region: str | None = None
    created_from: str | None = None
    created_before: str | None = None

    def expression(self) -> tuple[str | None, dict[str, str], dict[str, Any]]:
        parts: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        for attr, op, value in (
            ("category", "=", self.category),
            ("region", "=", self.region),
            ("created_at", ">=", self.created_from),
            ("created_at", "<", self.created_before),
        ):
            if value is None:
                continue
            placeholder = f":f{len(values)}"
            names[f"#{attr}"] = attr
            values[placeholder] = {"S": value}
            parts.append(f"#{attr} {op} {placeholder}")
        return (" AND ".join(parts) or None), names, values


@dataclass(frozen=True)
class IndexQuery:
    index: str  # AgencyInbox | StatusBoard
    partition: str
    sk_prefix: str | None = None
    filter: TicketFilter = TicketFilter()


class TicketIndex:
    """Index reads over the table (and through the client) of a TicketStore."""

    def __init__(self, tickets: TicketStore) -> None:
        self._tickets = tickets

    @property
    def table(self) -> str:
        return self._tickets.table

    @property
    def client(self) -> Any:
        return self._tickets.client

    def page(
        self, query: IndexQuery, start: PageKey | None, limit: int, max_evaluated: int = 1000
    ) -> tuple[list[Ticket], PageKey | None]:
        """Up to `limit` tickets after `start`, and the key to continue from (None: partition done)."""
        pk_name, sk_name = INDEX_KEYS[query.index]
        filter_expr, names, values = query.filter.expression()
        out: list[Ticket] = []
        evaluated = 0
        key = start
        while True:
            remaining = limit - len(out)
            kwargs = self._query_args(query, filter_expr, names, values)
            kwargs["Limit"] = remaining if filter_expr is None else min(max(remaining, 50), 200)
            if key:
                kwargs["ExclusiveStartKey"] = {k: {"S": v} for k, v in key.items()}
            resp = self._query(kwargs)
            evaluated += int(resp.get("ScannedCount", 0))
            items = [deserialize(i) for i in resp.get("Items", [])]
            last_key = resp.get("LastEvaluatedKey")
            for position, item in enumerate(items):
                out.append(Ticket.model_validate(item))
                if len(out) == limit:
                    more = position < len(items) - 1 or last_key is not None
                    return out, (_key_of(item, pk_name, sk_name) if more else None)
            if last_key is None:
                return out, None
            key = {k: v["S"] for k, v in last_key.items()}
            if evaluated >= max_evaluated:
                return out, key

    def project(self, query: IndexQuery, attributes: list[str]) -> Iterator[dict[str, Any]]:
        """Every item of the partition, only `attributes` of each (for aggregates such as stats)."""
        filter_expr, names, values = query.filter.expression()
        kwargs = self._query_args(query, filter_expr, names, values)
        kwargs["ExpressionAttributeNames"].update({f"#p{i}": a for i, a in enumerate(attributes)})
        kwargs["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(attributes)))
        while True:
            resp = self._query(kwargs)
            yield from (deserialize(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def _query_args(
        self, query: IndexQuery, filter_expr: str | None, names: dict[str, str], values: dict[str, Any]
    ) -> dict[str, Any]:
        pk_name, sk_name = INDEX_KEYS[query.index]
        condition = "#ipk = :ipk"
        names = {**names, "#ipk": pk_name}
        values = {**values, ":ipk": {"S": query.partition}}
        if query.sk_prefix:
            condition += " AND begins_with(#isk, :isk)"
            names["#isk"] = sk_name
            values[":isk"] = {"S": query.sk_prefix}
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": query.index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if filter_expr:
            kwargs["FilterExpression"] = filter_expr
        return kwargs

    def _query(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(self.client.query(**kwargs))
        except ClientError as exc:
            if error_code(exc) == "ValidationException" and "ExclusiveStartKey" in kwargs:
                raise BadStartKey(str(exc)) from None
            raise StorageUnavailable(f"DynamoDB Query failed: {exc}") from exc
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB Query failed: {exc}") from exc


def _key_of(item: dict[str, Any], pk_name: str, sk_name: str) -> PageKey:
    return {name: str(item[name]) for name in ("pk", "sk", pk_name, sk_name)}
