"""API bearer tokens in DirectoryTable, stored only as SHA-256 hashes.

| item      | pk               | sk    | attributes                                                   |
|-----------|------------------|-------|--------------------------------------------------------------|
| API token | TOKEN#<sha256>   | TOKEN | token_hash, role, agency_id, label, created_at, revoked_at   |

A token is `kml_` + 32 random bytes (urlsafe base64, 43 characters). The prefix makes a leaked token easy to
recognise (secret scanners, log greps); the randomness makes it unguessable, so a plain SHA-256 (not a slow
password hash) is enough: there is nothing to brute-force. The plaintext exists only in the output of
`kemala tokens create`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kemala.store.dynamo import (
    AWS_ERRORS,
    DynamoTable,
    StorageUnavailable,
    deserialize,
    serialize,
)

TOKEN_PREFIX = "kml_"
TOKEN_SK = "TOKEN"
_TOKEN_RE = re.compile(r"^kml_[A-Za-z0-9_-]{43}$")
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")


class Role(StrEnum):
    OPERATOR = "operator"
    AGENCY = "agency"
    AUDITOR = "auditor"


class TokenRecord(BaseModel):
    """What a token grants. `agency_id` is set exactly when the role is `agency`."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    token_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    role: Role
    agency_id: str | None = None
    label: str | None = Field(default=None, max_length=200)
    created_at: str
    revoked_at: str | None = None

    @model_validator(mode="after")
    def _agency_matches_role(self) -> TokenRecord:
        if (self.role is Role.AGENCY) != bool(self.agency_id):
            raise ValueError("agency_id must be set for the agency role and only for it")
        return self

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def principal(self) -> str:
        """`operator`, `auditor` or `agency:<id>`: how the role is written in audit events."""
        return f"agency:{self.agency_id}" if self.role is Role.AGENCY else self.role.value


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def looks_like_token(value: str) -> bool:
    """Shape check before any hashing or lookup, so garbage costs nothing."""
    return bool(_TOKEN_RE.match(value))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_pk(token_hash: str) -> str:
    return f"TOKEN#{token_hash}"


class AmbiguousToken(LookupError):
    """A hash prefix matched more than one token."""


class TokenStore(DynamoTable):
    """Reads and writes of token records. The authorizer only ever calls `get` (GetItem)."""

    def get(self, token_hash: str) -> TokenRecord | None:
        if not _HASH_RE.match(token_hash):
            return None
        try:
            resp = self.client.get_item(
                TableName=self.table, Key={"pk": {"S": token_pk(token_hash)}, "sk": {"S": TOKEN_SK}}
            )
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB GetItem on the directory failed: {exc}") from exc
        return TokenRecord.model_validate(deserialize(resp["Item"])) if "Item" in resp else None

    def put(self, record: TokenRecord) -> None:
        item = {
            "pk": token_pk(record.token_hash),
            "sk": TOKEN_SK,
            "item_type": "token",
            **record.model_dump(),
        }
        try:
            self.client.put_item(
                TableName=self.table, Item=serialize(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB PutItem on the directory failed: {exc}") from exc

    def revoke(self, token_hash: str, at: str) -> bool:
        """Mark the token revoked; False when it was already revoked (the first revocation time stays)."""
        revoked = self.conditional_update(
            "on the directory",
            Key={"pk": {"S": token_pk(token_hash)}, "sk": {"S": TOKEN_SK}},
            UpdateExpression="SET revoked_at = :at",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(revoked_at)",
            ExpressionAttributeValues={":at": {"S": at}},
        )
        return revoked is not None

    def list_all(self) -> list[TokenRecord]:
        """Every token record, oldest first. The directory is small (agencies, tokens, settings), so a
        paginated scan with a key filter is fine for an operator's command."""
        records: list[TokenRecord] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "begins_with(pk, :p) AND sk = :sk",
            "ExpressionAttributeValues": {":p": {"S": "TOKEN#"}, ":sk": {"S": TOKEN_SK}},
        }
        try:
            while True:
                resp = self.client.scan(**kwargs)
                records.extend(TokenRecord.model_validate(deserialize(i)) for i in resp.get("Items", []))
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB Scan on the directory failed: {exc}") from exc
        return sorted(records, key=lambda r: r.created_at)

    def find(self, token_or_hash_prefix: str) -> TokenRecord | None:
        """The record for a full token, or for a unique prefix of its hash; AmbiguousToken otherwise."""
        if token_or_hash_prefix.startswith(TOKEN_PREFIX):
            return self.get(hash_token(token_or_hash_prefix))
        prefix = token_or_hash_prefix.lower()
        matches = [r for r in self.list_all() if r.token_hash.startswith(prefix)]
        if len(matches) > 1:
            raise AmbiguousToken(f"hash prefix {prefix!r} matches {len(matches)} tokens; give more digits")
        return matches[0] if matches else None
