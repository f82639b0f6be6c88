"""Make moto's DynamoDB evaluate each request atomically, as DynamoDB does.

moto's in-memory DynamoDB backend takes no lock: two threads running `TransactWriteItems` (or
`PutItem` with a condition) on the same key can both pass the condition check and both write. Real
DynamoDB never allows that, and our dedupe and optimistic locking rely on it. Tests and the local stack
run requests concurrently, so they call `install()` to serialise the backend's item operations behind
one re-entrant lock. This changes no semantics except removing the race.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
_OPERATIONS = (
    "batch_get_item",
    "batch_write_item",
    "delete_item",
    "execute_transaction",
    "get_item",
    "put_item",
    "query",
    "scan",
    "transact_get_items",
    "transact_write_items",
    "update_item",
)
_installed = False


def install() -> None:
    """Idempotently wrap moto's DynamoDB backend operations in one lock."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in _OPERATIONS:
        original = getattr(DynamoDBBackend, name)

        @functools.wraps(original)
        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    _installed = True
