"""`kemala audit verify` catches records altered behind the ticket store's back and names the ticket."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.aws_export.build import FIXTURE, audit_cli, run_scenario, write_aws_export

TABLE = "kemala-TicketsTable"


def _key(ticket: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": f"TICKET#{ticket}"}, "sk": {"S": sk}}


def _verify(tmp_path: Path, tamper: Callable[[Any, str], None] | None) -> int:
    root = tmp_path / "export"
    write_aws_export(root, run_scenario(tamper=tamper))
    db = str(tmp_path / "audit.duckdb")
    assert audit_cli("load", str(root), "--db", db) == 0
    return audit_cli("verify", "--db", db)


def _failures(out: str) -> dict[str, str]:
    """ticket id -> its FAIL line."""
    return {line.split()[2]: line for line in out.splitlines() if line.startswith("FAIL ticket ")}


def test_the_untouched_fixture_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "a.duckdb")
    audit_cli("load", str(FIXTURE), "--db", db)
    assert audit_cli("verify", "--db", db) == 0
    out = capsys.readouterr().out
    assert "verified 7 tickets and 23 events: 0 failed, 7 intact" in out and "FAIL" not in out


def test_a_cleared_field_replays_and_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """T3's rejection sets agency_id and due_at to None; the chain and the replay must still hold."""
    assert _verify(tmp_path, None) == 0
    capsys.readouterr()
    db = str(tmp_path / "audit.duckdb")
    audit_cli(
        "query",
        "SELECT set FROM ticket_events WHERE ticket_id = 'T3' AND seq = 3",
        "--db",
        db,
        "--format",
        "csv",
    )
    assert '""agency_id"":null' in capsys.readouterr().out


def test_an_edited_event_is_caught(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def edit(ddb: Any, table: str) -> None:
        ddb.update_item(
            TableName=table,
            Key=_key("T2", "EVENT#00000003"),
            UpdateExpression="SET #s.agency_id = :a",
            ExpressionAttributeNames={"#s": "set"},
            ExpressionAttributeValues={":a": {"S": "dinas-kesehatan"}},
        )

    assert _verify(tmp_path, edit) == 1
    failures = _failures(capsys.readouterr().out)
    assert list(failures) == ["T2"]
    assert "event 3: hash does not match the event's content" in failures["T2"]
    assert "agency_id is 'pdam-grobogan' but its events replay to 'dinas-kesehatan'" in failures["T2"]


def test_a_deleted_event_is_caught(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def delete(ddb: Any, table: str) -> None:
        ddb.delete_item(TableName=table, Key=_key("T1", "EVENT#00000002"))  # from the middle
        ddb.delete_item(TableName=table, Key=_key("T7", "EVENT#00000004"))  # the latest one

    assert _verify(tmp_path, delete) == 1
    out = capsys.readouterr().out
    failures = _failures(out)
    assert sorted(failures) == ["T1", "T7"]
    assert "event 3: expected seq 2 (an event is missing)" in failures["T1"]
    assert "chain: ticket's last_hash is not the last event's hash" in failures["T7"]
    assert "version is 4 but it has 3 events" in failures["T7"]
    assert "verified 7 tickets and 21 events: 2 failed, 5 intact" in out


def test_a_state_that_does_not_match_its_events_is_caught(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def overwrite(ddb: Any, table: str) -> None:
        ddb.update_item(
            TableName=table,
            Key=_key("T4", "TICKET"),
            UpdateExpression="SET #st = :s, agency_id = :a",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={":s": {"S": "RESOLVED"}, ":a": {"S": "dinas-pu-semarang"}},
        )

    assert _verify(tmp_path, overwrite) == 1
    failures = _failures(capsys.readouterr().out)
    assert list(failures) == ["T4"]
    assert "status is 'RESOLVED' but its events replay to 'ASSIGNED'" in failures["T4"]
    assert "agency_id is 'dinas-pu-semarang' but its events replay to 'pdam-grobogan'" in failures["T4"]
    assert "hash" not in failures["T4"]  # the events themselves are intact


def test_a_missing_creation_event_and_an_orphan_trail_are_caught(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def remove(ddb: Any, table: str) -> None:
        ddb.delete_item(TableName=table, Key=_key("T6", "EVENT#00000001"))
        ddb.delete_item(TableName=table, Key=_key("T5", "TICKET"))

    assert _verify(tmp_path, remove) == 1
    failures = _failures(capsys.readouterr().out)
    assert "no creation event (ticket.created at seq 1)" in failures["T6"]
    assert "3 events but no ticket item" in failures["T5"]


def test_nulls_inside_replayed_values_match_absent_attributes() -> None:
    """The router's suggestions carry agency_id None in the event; the ticket item omits it."""
    from kemala_cli.audit.verify import _state_mismatches

    suggestion = {"category": "health", "confidence": 0.4, "agency_id": None}
    events = [{"seq": 1, "set": {"suggestions": [suggestion], "due_at": None}}]
    assert _state_mismatches({"suggestions": [{"category": "health", "confidence": 0.4}]}, events) == []
    assert _state_mismatches({"suggestions": [], "due_at": "2026-03-02T00:00:00.000Z"}, events) == [
        "due_at is '2026-03-02T00:00:00.000Z' but its events replay to None",
        "suggestions is [] but its events replay to "
        "[{'category': 'health', 'confidence': 0.4, 'agency_id': None}]",
    ]
