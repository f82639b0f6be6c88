"""`kemala tokens create|revoke|list` on moto: the token is printed once and stored only as its hash."""

from __future__ import annotations

import json

import pytest
from kemala.ids import iso, utc_now
from kemala.routing.types import Agency, AgencyLevel
from kemala.store.agencies import AgencyStore
from kemala.store.tokens import TokenStore, hash_token, looks_like_token
from kemala_cli.main import main

from tests.conftest import Stack

AGENCY = "pdam-kota-semarang"


@pytest.fixture
def directory(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> str:
    table = stack.tables["DirectoryTable"]
    monkeypatch.setenv("DIRECTORY_TABLE", table)
    agency = Agency(
        id=AGENCY,
        name="PDAM Tirta Moedal Kota Semarang",
        level=AgencyLevel.UTILITY,
        region="kota-semarang",
        categories=["water_utility"],
    )
    AgencyStore(table).put(agency, applied_at=iso(utc_now()))
    return table


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_prints_the_token_once_and_stores_only_its_hash(
    directory: str, stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "tokens", "create", "--role", "agency", "--agency", AGENCY, "--label", "helpdesk"
    )
    assert code == 0
    token = out.strip()
    assert looks_like_token(token) and out.count("\n") == 1
    assert token not in err and hash_token(token)[:12] in err
    record = TokenStore(directory).get(hash_token(token))
    assert record is not None and record.role.value == "agency" and record.agency_id == AGENCY
    assert record.label == "helpdesk" and record.revoked_at is None
    items = stack.ddb.scan(TableName=directory)["Items"]
    assert token not in json.dumps(items)

    code, out, _ = run(capsys, "tokens", "list")
    assert code == 0 and token not in out
    assert hash_token(token)[:12] in out and f"agency:{AGENCY}" in out and "helpdesk" in out
    code, out, _ = run(capsys, "tokens", "list", "--json")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["hash_prefix"] == hash_token(token)[:12] and "token_hash" not in row and token not in out


def test_two_creates_give_two_different_tokens(directory: str, capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, "tokens", "create", "--role", "operator")[1].strip()
    second = run(capsys, "tokens", "create", "--role", "auditor", "--directory-table", directory)[1].strip()
    assert first != second and looks_like_token(first) and looks_like_token(second)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--role", "agency"], "needs --agency"),
        (["--role", "agency", "--agency", "no-such-agency"], "no agency 'no-such-agency'"),
        (["--role", "operator", "--agency", AGENCY], "only for --role agency"),
        (["--role", "auditor", "--label", "x" * 201], "longer than 200"),
    ],
)
def test_create_refuses_bad_arguments_clearly(
    directory: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "tokens", "create", *argv)
    assert code == 2 and out == "" and message in err and err.startswith("kemala: error:")


def test_create_without_a_table_names_the_setting(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DIRECTORY_TABLE", raising=False)
    code, _, err = run(capsys, "tokens", "create", "--role", "operator")
    assert code == 2 and "--directory-table" in err and "DIRECTORY_TABLE" in err


def test_unknown_role_is_refused_by_the_parser(directory: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["tokens", "create", "--role", "admin"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'admin'" in capsys.readouterr().err


def test_revoke_by_token_or_hash_prefix(directory: str, capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, "tokens", "create", "--role", "operator")[1].strip()
    second = run(capsys, "tokens", "create", "--role", "auditor")[1].strip()
    store = TokenStore(directory)

    code, out, _ = run(capsys, "tokens", "revoke", first)
    assert code == 0 and "revoked operator token" in out and first not in out
    assert store.get(hash_token(first)).revoked_at is not None  # type: ignore[union-attr]
    code, out, _ = run(capsys, "tokens", "revoke", hash_token(first)[:10])
    assert code == 0 and "already revoked" in out

    code, out, _ = run(capsys, "tokens", "revoke", hash_token(second)[:8].upper())
    assert code == 0 and "revoked auditor token" in out
    assert [r.revoked_at is not None for r in store.list_all()] == [True, True]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "at least 8 hex digits"),
        ("zzzzzzzzzz", "at least 8 hex digits"),
        ("0000000000", "no such token"),
        ("kml_" + "A" * 43, "no such token"),
    ],
)
def test_revoke_refuses_what_it_cannot_pin_down(
    directory: str, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    run(capsys, "tokens", "create", "--role", "operator")
    code, _, err = run(capsys, "tokens", "revoke", value)
    assert code == 2 and message in err


def test_revoke_with_an_ambiguous_prefix_names_the_problem(
    directory: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import kemala.store.tokens as tokens

    hashes = iter(["abcdef01" + "1" * 56, "abcdef01" + "2" * 56])  # two tokens sharing 8 hex digits
    monkeypatch.setattr(tokens, "hash_token", lambda token: next(hashes))
    run(capsys, "tokens", "create", "--role", "operator")
    run(capsys, "tokens", "create", "--role", "auditor")
    code, _, err = run(capsys, "tokens", "revoke", "abcdef01")
    assert code == 2 and "matches 2 tokens" in err
    code, out, _ = run(capsys, "tokens", "revoke", "abcdef012")
    assert code == 0 and "revoked auditor token" in out
