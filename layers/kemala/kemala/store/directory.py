"""DirectoryTable data access: agencies, the set of our own X accounts, API tokens, settings.

| item              | pk                 | sk        |
|-------------------|--------------------|-----------|
| agency            | AGENCY#<id>        | AGENCY    |
| own X accounts    | XACCOUNTS          | XACCOUNTS | `user_ids`: string set of every agency's X user id |
| API token         | TOKEN#<sha256>     | TOKEN     | role, agency_id; only the hash is stored        |
| routing settings  | SETTINGS           | ROUTING   |
| poller cursor     | CURSOR#<name>      | CURSOR    |
"""

from __future__ import annotations

import time
from typing import Any

from kemala.store.dynamo import AWS_ERRORS, DynamoTable, StorageUnavailable, deserialize

XACCOUNTS_KEY = {"pk": {"S": "XACCOUNTS"}, "sk": {"S": "XACCOUNTS"}}


class Directory(DynamoTable):
    def __init__(self, table_name: str, client: Any = None, cache_seconds: float = 60.0) -> None:
        super().__init__(table_name, client)
        self._cache_seconds = cache_seconds
        self._accounts: tuple[float, frozenset[str]] | None = None

    def own_account_ids(self) -> frozenset[str]:
        """X user ids of every registered agency account, cached briefly: replies loop otherwise."""
        now = time.monotonic()
        if self._accounts and now - self._accounts[0] < self._cache_seconds:
            return self._accounts[1]
        try:
            resp = self.client.get_item(TableName=self.table, Key=XACCOUNTS_KEY)
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB GetItem on the directory failed: {exc}") from exc
        ids = frozenset(deserialize(resp["Item"]).get("user_ids", [])) if "Item" in resp else frozenset()
        self._accounts = (now, ids)
        return ids
