"""`kemala tokens create|revoke|list`: API bearer tokens (docs/api.md "Tokens").

`create` prints the token once, alone on stdout (so `TOKEN=$(kemala tokens create ...)` works); what
it is for goes to stderr. Only the token's SHA-256 is stored; `list` shows hash prefixes, never tokens.
A revocation takes effect within the authorizer's cache TTL (5 minutes).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kemala_cli.agencies_cmd import directory_table, directory_table_argument
from kemala_cli.errors import CliError

HASH_PREFIX_SHOWN = 12
MIN_HASH_PREFIX = 8


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("tokens", help="API bearer tokens: create, revoke, list")
    sub = parser.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")

    create = sub.add_parser("create", help="issue a token; it is printed once and never stored")
    create.add_argument("--role", required=True, choices=["operator", "agency", "auditor"])
    create.add_argument("--agency", metavar="ID", help="the agency's id (required with --role agency)")
    create.add_argument("--label", metavar="TEXT", help="who or what holds it, e.g. 'PDAM Semarang helpdesk'")
    directory_table_argument(create)
    create.set_defaults(func=run_create)

    revoke = sub.add_parser("revoke", help="revoke a token, given the token or a unique hash prefix")
    revoke.add_argument("token", metavar="TOKEN_OR_HASH_PREFIX")
    directory_table_argument(revoke)
    revoke.set_defaults(func=run_revoke)

    list_p = sub.add_parser("list", help="tokens by hash prefix, role, agency, label; never the token")
    list_p.add_argument("--json", action="store_true", help="one JSON object per line")
    directory_table_argument(list_p)
    list_p.set_defaults(func=run_list)


def _storage_error(exc: Exception) -> CliError:
    return CliError(f"cannot reach the directory table: {exc}")


def run_create(args: argparse.Namespace) -> int:
    from kemala.ids import iso, utc_now
    from kemala.store.agencies import AgencyStore
    from kemala.store.dynamo import StorageUnavailable
    from kemala.store.tokens import Role, TokenRecord, TokenStore, hash_token, new_token

    role = Role(args.role)
    table = directory_table(args)
    if role is Role.AGENCY and not args.agency:
        raise CliError("--role agency needs --agency ID (see `kemala agencies list`)")
    if role is not Role.AGENCY and args.agency:
        raise CliError(f"--agency is only for --role agency, not {role.value}")
    if args.label is not None and len(args.label) > 200:
        raise CliError("--label is longer than 200 characters")
    try:
        if role is Role.AGENCY and AgencyStore(table).get(args.agency) is None:
            raise CliError(
                f"no agency {args.agency!r} in {table}; onboard it first with `kemala agencies apply`"
            )
        token = new_token()
        record = TokenRecord(
            token_hash=hash_token(token),
            role=role,
            agency_id=args.agency,
            label=args.label,
            created_at=iso(utc_now()),
        )
        TokenStore(table).put(record)
    except StorageUnavailable as exc:
        raise _storage_error(exc) from None
    print(token)
    print(
        f"created {record.principal} token {record.token_hash[:HASH_PREFIX_SHOWN]}"
        " (shown once: store it now; only its hash is kept)",
        file=sys.stderr,
    )
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from kemala.ids import iso, utc_now
    from kemala.store.dynamo import StorageUnavailable
    from kemala.store.tokens import TOKEN_PREFIX, AmbiguousToken, TokenStore

    value = args.token.strip()
    is_hash_prefix = len(value) >= MIN_HASH_PREFIX and all(c in "0123456789abcdefABCDEF" for c in value)
    if not value.startswith(TOKEN_PREFIX) and not is_hash_prefix:
        raise CliError(
            f"give the token itself ({TOKEN_PREFIX}...) or at least {MIN_HASH_PREFIX} hex digits "
            "of its hash (see `kemala tokens list`)"
        )
    store = TokenStore(directory_table(args))
    try:
        record = store.find(value)
        if record is None:
            raise CliError("no such token (see `kemala tokens list`)")
        revoked = store.revoke(record.token_hash, iso(utc_now()))
    except AmbiguousToken as exc:
        raise CliError(str(exc)) from None
    except StorageUnavailable as exc:
        raise _storage_error(exc) from None
    shown = record.token_hash[:HASH_PREFIX_SHOWN]
    if revoked:
        print(
            f"revoked {record.principal} token {shown}; "
            "the API refuses it within 5 minutes (the authorizer's cache)"
        )
    else:
        print(f"token {shown} was already revoked at {record.revoked_at}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from kemala.store.dynamo import StorageUnavailable
    from kemala.store.tokens import TokenStore

    try:
        records = TokenStore(directory_table(args)).list_all()
    except StorageUnavailable as exc:
        raise _storage_error(exc) from None
    if args.json:
        for r in records:
            row = r.model_dump(mode="json", exclude={"token_hash"})
            print(json.dumps({"hash_prefix": r.token_hash[:HASH_PREFIX_SHOWN], **row}, ensure_ascii=False))
        return 0
    print(f"{'HASH':<{HASH_PREFIX_SHOWN}}  {'ROLE':<24}  {'CREATED':<24}  {'REVOKED':<24}  LABEL")
    for r in records:
        print(
            f"{r.token_hash[:HASH_PREFIX_SHOWN]}  {r.principal:<24}  {r.created_at:<24}  "
            f"{r.revoked_at or '-':<24}  {r.label or ''}"
        )
    return 0
