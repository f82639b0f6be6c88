"""Two moto hot spots, fixed without changing what moto answers.

1. The server's request routing lists moto's package directory (`os.listdir` + `isdir` on ~150
   folders) for every request, under the dispatcher's global lock: more than half of moto's CPU time in
   the demo. The list cannot change while the process runs, so it is computed once.
2. TransactWriteItems without its whole-table deep copy (below).

moto 5 snapshots every table a transaction touches with `copy.deepcopy(table)` so it can roll back,
which makes each transaction O(table size): the demo's few hundred tickets (a handful of items each)
turned a 3 ms call into 40-150 ms and the demo quadratic. This replacement snapshots only the items the
transaction names and restores exactly those on failure. It keeps moto's checks and answers: at most 100
items, one operation per item, no item twice, conditions evaluated per item, ValidationException and
the per-item cancellation reasons of TransactionCanceledException. Installed by the local stack only
(before kemala_cli.moto_atomic wraps it in its lock).
"""

from __future__ import annotations

import copy
from typing import Any

_installed = False


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    snapshots: dict[tuple[str, Any, Any], Any] = {}
    target_items: set[tuple[str, str]] = set()

    def remember(table_name: str, key: dict[str, Any]) -> None:
        table = self.get_table(table_name)
        hash_key, range_key = self.get_keys_value(table, key)
        ident = (table_name, hash_key, range_key)
        if ident not in snapshots:
            snapshots[ident] = copy.deepcopy(table.get_item(hash_key, range_key))

    def rollback() -> None:
        for (table_name, hash_key, range_key), item in snapshots.items():
            table = self.tables[table_name]
            if item is None:
                table.delete_item(hash_key, range_key)
            elif range_key is not None:
                table.items[hash_key][range_key] = item
            else:
                table.items[hash_key] = item

    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            unique = (str(table_name), str(dict(sorted(key.items()))))
            if unique in target_items:
                raise MultipleTransactionsException()
            target_items.add(unique)
            remember(table_name, key)
            current = self.get_item(table_name, key)
            if condition is not None and not get_filter_expression(condition, names, values).expr(current):
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    original_item = current.to_json()["Attributes"]
                raise ConditionalCheckFailed(item=original_item)
            common = {
                "condition_expression": condition,
                "expression_attribute_names": names,
                "expression_attribute_values": values,
            }
            if op_type == "Put":
                self.put_item(table_name, op["Item"], **common)
            elif op_type == "Delete":
                self.delete_item(table_name, key, **common)
            elif op_type == "Update":
                self.update_item(table_name, key, update_expression=op["UpdateExpression"], **common)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:
            errors.append((type(e).__name__, str(e), original_item))
    if any(code is not None for code, _, _ in errors):
        rollback()
        raise TransactionCanceledException(errors)


def install() -> None:
    """Idempotently patch moto (call before kemala_cli.moto_atomic, which wraps the transaction call)."""
    global _installed
    if _installed:
        return
    from moto import backends
    from moto.dynamodb.models import DynamoDBBackend

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    _installed = True
