"""DirectoryTable data access for agencies: records, the agency index, and the XACCOUNTS set.

| item           | pk           | sk        | notes                                                |
|----------------|--------------|-----------|------------------------------------------------------|
| agency         | AGENCY#<id>  | AGENCY    | the `Agency` model's fields, plus `applied_at`       |
| agency index   | AGENCIES     | INDEX     | `ids`: string set of every agency id                 |
| own X accounts | XACCOUNTS    | XACCOUNTS | `user_ids`: string set of every agency's X user id   |

The index item lets the router load the whole registry with one GetItem and one BatchGetItem per 100
agencies, without a Scan over tokens and settings (which the router has no business reading).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from kemala.routing.registry import Registry
from kemala.routing.types import Agency
from kemala.store.directory import XACCOUNTS_KEY
from kemala.store.dynamo import AWS_ERRORS, DynamoTable, StorageUnavailable, deserialize, serialize

AGENCY_SK = "AGENCY"
INDEX_KEY = {"pk": {"S": "AGENCIES"}, "sk": {"S": "INDEX"}}
_BATCH_GET_LIMIT = 100


def agency_key(agency_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"AGENCY#{agency_id}"}, "sk": {"S": AGENCY_SK}}


class AgencyStore(DynamoTable):
    """Agency records. `registry()` is cached for `cache_seconds`, so a warm router reads no directory."""

    def __init__(self, table_name: str, client: Any = None, cache_seconds: float = 60.0) -> None:
        super().__init__(table_name, client)
        self._cache_seconds = cache_seconds
        self._registry: tuple[float, Registry] | None = None

    # --- reads -------------------------------------------------------------------------------------

    def get(self, agency_id: str) -> Agency | None:
        item = self._get(agency_key(agency_id))
        return Agency.model_validate(item) if item else None

    def agency_ids(self) -> set[str]:
        item = self._get(INDEX_KEY)
        return set(item.get("ids", [])) if item else set()

    def own_account_ids(self) -> set[str]:
        item = self._get(XACCOUNTS_KEY)
        return set(item.get("user_ids", [])) if item else set()

    def list_all(self) -> list[Agency]:
        """Every agency in the index, sorted by id."""
        ids = sorted(self.agency_ids())
        items: list[dict[str, Any]] = []
        for start in range(0, len(ids), _BATCH_GET_LIMIT):
            keys = [agency_key(i) for i in ids[start : start + _BATCH_GET_LIMIT]]
            items.extend(self._batch_get(keys))
        return sorted((Agency.model_validate(i) for i in items), key=lambda a: a.id)

    def registry(self) -> Registry:
        """The registry as the directory holds it, cached briefly (onboarding takes effect in a minute)."""
        now = time.monotonic()
        if self._registry and now - self._registry[0] < self._cache_seconds:
            return self._registry[1]
        registry = Registry.from_agencies(self.list_all())
        self._registry = (now, registry)
        return registry

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            resp = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True)
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB GetItem on the directory failed: {exc}") from exc
        return deserialize(resp["Item"]) if "Item" in resp else None

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(5):
            try:
                resp = self.client.batch_get_item(RequestItems=request)
            except AWS_ERRORS as exc:
                raise StorageUnavailable(f"DynamoDB BatchGetItem on the directory failed: {exc}") from exc
            items.extend(deserialize(i) for i in resp.get("Responses", {}).get(self.table, []))
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                return items
            time.sleep(0.05 * 2**attempt)
        raise StorageUnavailable("DynamoDB BatchGetItem left keys unprocessed after 5 attempts")

    # --- writes (the onboarding CLI) ---------------------------------------------------------------

    def put(self, agency: Agency, applied_at: str) -> None:
        item = {**agency.model_dump(mode="json", exclude_none=True), "item_type": "agency"}
        item.update(pk=f"AGENCY#{agency.id}", sk=AGENCY_SK, applied_at=applied_at)
        self._put(item)

    def set_agency_ids(self, ids: Iterable[str]) -> None:
        self._put_set(INDEX_KEY, "ids", set(ids))

    def set_own_account_ids(self, user_ids: Iterable[str]) -> None:
        self._put_set(XACCOUNTS_KEY, "user_ids", set(user_ids))

    def _put_set(self, key: dict[str, Any], attribute: str, values: set[str]) -> None:
        item: dict[str, Any] = deserialize(key)
        if values:  # DynamoDB has no empty sets: an empty set is an item without the attribute
            item[attribute] = values
        self._put(item)

    def _put(self, item: dict[str, Any]) -> None:
        try:
            self.client.put_item(TableName=self.table, Item=serialize(item))
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB PutItem on the directory failed: {exc}") from exc
