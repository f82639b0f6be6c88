"""The HTTP API Lambda authorizer's decision: bearer token -> role, or no.

API Gateway caches each answer by the `Authorization` header for the authorizer's TTL, so this runs once
per token per few minutes, and a revocation takes effect within that TTL (docs/api.md). The token is never
logged; only the first 12 hex digits of its hash (`token_id`) travel on, so audit events can say which
token acted without making it usable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from kemala.store.tokens import TokenStore, hash_token, looks_like_token

TOKEN_ID_LENGTH = 12


class AuthorizerSettings(BaseModel):
    """The authorizer reads only DirectoryTable (it has no access to tickets)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    directory_table: str = Field(min_length=1)


@dataclass(frozen=True)
class AuthDecision:
    authorized: bool
    context: dict[str, str] = field(default_factory=dict)
    reason: str = ""  # for the log line only


def bearer_token(headers: Mapping[str, str] | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), else None."""
    for name, value in (headers or {}).items():
        if name.lower() == "authorization" and value:
            scheme, _, token = value.strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def authorize(headers: Mapping[str, str] | None, store: TokenStore) -> AuthDecision:
    """Allow a live, known token; deny anything else. Raises StorageUnavailable if the directory is down,
    so that API Gateway answers 500 and does not cache a wrong denial."""
    token = bearer_token(headers)
    if token is None:
        return AuthDecision(authorized=False, reason="no bearer token")
    if not looks_like_token(token):
        return AuthDecision(authorized=False, reason="not a kemala token")
    token_hash = hash_token(token)
    record = store.get(token_hash)
    if record is None:
        return AuthDecision(authorized=False, reason="unknown token")
    if not record.active:
        return AuthDecision(authorized=False, reason="revoked token")
    context = {"role": record.role.value, "token_id": token_hash[:TOKEN_ID_LENGTH]}
    if record.agency_id:
        context["agency_id"] = record.agency_id
    return AuthDecision(authorized=True, context=context, reason="ok")
