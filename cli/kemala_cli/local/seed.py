"""Seeding the local stack: agencies from config/agencies.yaml, their X credentials, API tokens.

Agencies go through the onboarding engineer's machinery (`kemala agencies apply`: agency records, queues,
the agency index, XACCOUNTS), never a copy of it. Tokens go through the API's token store, as
`kemala tokens create` does. Each step is skipped with one log line when its module is not installed yet.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kemala_cli.cfn import PROJECT_ROOT

log = logging.getLogger("kemala.local")

AGENCIES_FILE = PROJECT_ROOT / "config" / "agencies.yaml"


@dataclass
class Seeded:
    agencies: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> record (json)
    tokens: dict[str, Any] = field(default_factory=lambda: {"agencies": {}})
    x_credentials: dict[str, dict[str, str]] = field(default_factory=dict)  # agency id -> OAuth keys
    notes: list[str] = field(default_factory=list)


def apply_agencies(directory_table: str, sqs: Any, path: Path = AGENCIES_FILE) -> dict[str, dict[str, Any]]:
    """`kemala agencies apply <path>`; returns the applied agency records by id."""
    from kemala.ids import iso, utc_now
    from kemala.routing.registry import read_agency_file
    from kemala.store.agencies import AgencyStore

    from kemala_cli.agency_onboarding import AgencyQueues, Codes, apply, validate

    agencies, problems = validate(read_agency_file(path), Codes.load())
    if problems:
        raise ValueError(f"{path}: " + "; ".join(str(p) for p in problems[:5]))
    store = AgencyStore(directory_table)
    report = apply(agencies, store, AgencyQueues(sqs), lambda: iso(utc_now()))
    log.info("agencies: %s", report.summary())
    return {a.id: a.model_dump(mode="json") for a in store.list_all()}


def seed_agency_x_credentials(
    secretsmanager: Any, agencies: dict[str, dict[str, Any]]
) -> dict[str, dict[str, str]]:
    """Generated OAuth 1.0a credentials for each agency's X account, put where the replier reads them
    (`x_secret_name`); returned by agency id so the fake X can verify the signatures made with them."""
    out: dict[str, dict[str, str]] = {}
    for record in agencies.values():
        name = record.get("x_secret_name")
        if not name:
            continue
        credentials = {
            "consumer_key": f"local-{record['id']}",
            "consumer_secret": secrets.token_urlsafe(24),
            "access_token": f"{record.get('x_user_id') or '0'}-local",
            "access_token_secret": secrets.token_urlsafe(24),
        }
        value = json.dumps(credentials)
        try:
            secretsmanager.create_secret(Name=name, SecretString=value)
        except secretsmanager.exceptions.ResourceExistsException:
            secretsmanager.put_secret_value(SecretId=name, SecretString=value)
        out[record["id"]] = credentials
    return out


def create_tokens(directory_table: str, agency_ids: list[str]) -> dict[str, Any]:
    """An operator, an auditor and one token per agency, stored hashed like `kemala tokens create`."""
    from kemala.ids import iso, utc_now
    from kemala.store.tokens import Role, TokenRecord, TokenStore, hash_token, new_token

    store = TokenStore(directory_table)

    def issue(role: Role, agency_id: str | None = None) -> str:
        token = new_token()
        label = f"local stack {role.value}" + (f" {agency_id}" if agency_id else "")
        store.put(
            TokenRecord(
                token_hash=hash_token(token),
                role=role,
                agency_id=agency_id,
                label=label,
                created_at=iso(utc_now()),
            )
        )
        return token

    return {
        "operator": issue(Role.OPERATOR),
        "auditor": issue(Role.AUDITOR),
        "agencies": {agency_id: issue(Role.AGENCY, agency_id) for agency_id in agency_ids},
    }


def seed(directory_table: str | None, clients: Any) -> Seeded:
    out = Seeded()
    if directory_table is None:
        out.notes.append("no DirectoryTable in the template: agencies and tokens not seeded")
        return out
    try:
        out.agencies = apply_agencies(directory_table, clients("sqs"))
    except ImportError as exc:
        out.notes.append(f"agencies not applied: `kemala agencies apply` is not available ({exc})")
    if out.agencies:
        out.x_credentials = seed_agency_x_credentials(clients("secretsmanager"), out.agencies)
        out.notes.append(f"{len(out.x_credentials)} agency X credential secrets seeded with local values")
    try:
        out.tokens = create_tokens(directory_table, sorted(out.agencies))
    except ImportError as exc:
        out.notes.append(f"tokens not created: the token store is not available ({exc})")
    return out
