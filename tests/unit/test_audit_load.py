"""`kemala audit load` on the AWS-layout fixture, and a clear error for each kind of bad input."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.fixtures.aws_export.build import EXPORT_ID, FIXTURE, audit_cli, run_scenario, write_aws_export

EXPORT_DIR = FIXTURE / "AWSDynamoDB" / EXPORT_ID


@pytest.fixture
def export_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture, laid out under a dated prefix as in the bucket."""
    root = tmp_path / "exports" / "tickets" / "2026-03-02"
    shutil.copytree(FIXTURE, root)
    return root


def _data_files(root: Path) -> list[Path]:
    return sorted((root / "AWSDynamoDB" / EXPORT_ID / "data").glob("*.json.gz"))


def test_fixture_is_what_the_builder_writes(tmp_path: Path) -> None:
    """The committed fixture is the real store's output for the scenario (rebuild it if this fails)."""
    rebuilt = write_aws_export(tmp_path, run_scenario())
    for name in ("manifest-summary.json", "manifest-files.json"):
        assert (rebuilt / name).read_bytes() == (EXPORT_DIR / name).read_bytes()
    assert [p.read_bytes() for p in sorted((rebuilt / "data").iterdir())] == [
        p.read_bytes() for p in sorted((EXPORT_DIR / "data").iterdir())
    ]


def test_load_aws_layout_into_typed_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "audit.duckdb"
    assert audit_cli("load", str(FIXTURE), "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "aws layout, manifest checked" in out
    assert "7 tickets, 23 ticket_events, 7 tweet_links, 0 other_items" in out
    con = duckdb.connect(str(db), read_only=True)
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'tickets'"
        ).fetchall()
    )
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["hashtags"] == "VARCHAR[]" and types["confidence"] == "DOUBLE"
    assert types["version"] == "BIGINT" and "text" not in types  # citizen text left out by default
    row = con.execute("SELECT status, agency_id, version, hashtags FROM tickets WHERE id = 'T5'").fetchone()
    assert row == ("ASSIGNED", "pdam-grobogan", 3, ["KemalaJateng"])
    info = con.execute("SELECT export_id, layout, manifest_checked, items FROM export_info").fetchone()
    assert info == (EXPORT_ID, "aws", True, 37)


def test_load_the_export_folder_itself_and_query_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "a.duckdb")
    assert audit_cli("load", str(EXPORT_DIR), "--db", db) == 0
    capsys.readouterr()
    sql = "SELECT ticket_id, count(*) AS n FROM ticket_events GROUP BY 1 ORDER BY 1 LIMIT 2"
    assert audit_cli("query", sql, "--db", db, "--format", "csv") == 0
    assert capsys.readouterr().out.splitlines() == ["ticket_id,n", "T1,4", "T2,4"]
    assert audit_cli("query", sql, "--db", db, "--format", "json") == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0]) == {"ticket_id": "T1", "n": 4}


def test_bad_sql_is_a_cli_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "a.duckdb")
    audit_cli("load", str(FIXTURE), "--db", db)
    assert audit_cli("query", "SELECT nope FROM tickets", "--db", db) == 2
    assert "query failed" in capsys.readouterr().err


def test_missing_manifest_is_named(export_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (export_copy / "AWSDynamoDB" / EXPORT_ID / "manifest-summary.json").unlink()
    assert audit_cli("load", str(export_copy), "--db", str(export_copy / "a.duckdb")) == 2
    err = capsys.readouterr().err
    assert "missing manifest-summary.json" in err and EXPORT_ID in err


def test_missing_data_file_is_named(export_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = _data_files(export_copy)[0]
    victim.unlink()
    assert audit_cli("load", str(export_copy), "--db", str(export_copy / "a.duckdb")) == 2
    assert f"{victim.name}: listed in the manifest but missing" in capsys.readouterr().err


def test_corrupt_gzip_is_named(export_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = _data_files(export_copy)[1]
    victim.write_bytes(victim.read_bytes()[:40])
    _refresh_manifest(export_copy)
    assert audit_cli("load", str(export_copy), "--db", str(export_copy / "a.duckdb")) == 2
    err = capsys.readouterr().err
    assert victim.name in err and "not a readable gzip file" in err


def test_altered_data_file_fails_its_md5(export_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = _data_files(export_copy)[0]
    victim.write_bytes(gzip.compress(gzip.decompress(victim.read_bytes()).replace(b"T1", b"T9")))
    assert audit_cli("load", str(export_copy), "--db", str(export_copy / "a.duckdb")) == 2
    assert f"{victim.name}: MD5 does not match manifest-files.json" in capsys.readouterr().err


def test_unknown_attribute_type_names_file_and_line(
    export_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = _data_files(export_copy)[0]
    lines = gzip.decompress(victim.read_bytes()).decode().splitlines()
    record = json.loads(lines[2])
    record["Item"]["status"] = {"X": "RESOLVED"}
    lines[2] = json.dumps(record)
    victim.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    _refresh_manifest(export_copy)
    assert audit_cli("load", str(export_copy), "--db", str(export_copy / "a.duckdb")) == 2
    err = capsys.readouterr().err
    assert f"{victim.name}:3: attribute status: unknown DynamoDB attribute type 'X'" in err


def test_not_an_export_and_several_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert audit_cli("load", str(tmp_path), "--db", str(tmp_path / "a.duckdb")) == 2
    assert "no DynamoDB export here" in capsys.readouterr().err
    shutil.copytree(EXPORT_DIR, tmp_path / "AWSDynamoDB" / EXPORT_ID)
    shutil.copytree(EXPORT_DIR, tmp_path / "AWSDynamoDB" / "01772409700000-aaaaaaaa")
    assert audit_cli("load", str(tmp_path), "--db", str(tmp_path / "a.duckdb")) == 2
    assert "holds several exports" in capsys.readouterr().err
    assert audit_cli("load", str(tmp_path), "--db", str(tmp_path / "a.duckdb"), "--export-id", EXPORT_ID) == 0


def test_with_text_keeps_citizen_text(tmp_path: Path) -> None:
    items = run_scenario()
    for item in items:
        if item["sk"]["S"] == "TICKET":
            item["text"] = {"S": "jalan berlubang 🙏🏽"}
    root = tmp_path / "export"
    write_aws_export(root, items)
    db = str(tmp_path / "a.duckdb")
    assert audit_cli("load", str(root), "--db", db) == 0
    assert "text" not in json.loads(
        duckdb.connect(db).execute("SELECT item FROM tickets LIMIT 1").fetchone()[0]
    )
    assert audit_cli("load", str(root), "--db", db, "--with-text") == 0
    assert duckdb.connect(db).execute("SELECT DISTINCT text FROM tickets").fetchall() == [
        ("jalan berlubang 🙏🏽",)
    ]


def _refresh_manifest(root: Path) -> None:
    """Rewrite manifest-files.json for altered data files, as an export damaged in transit would look."""
    import base64
    import hashlib

    folder = root / "AWSDynamoDB" / EXPORT_ID
    lines = []
    for line in (folder / "manifest-files.json").read_text().splitlines():
        entry = json.loads(line)
        data = (folder / "data" / entry["dataFileS3Key"].rsplit("/", 1)[1]).read_bytes()
        entry["md5Checksum"] = base64.b64encode(hashlib.md5(data).digest()).decode()
        lines.append(json.dumps(entry))
    (folder / "manifest-files.json").write_text("\n".join(lines) + "\n")


def test_citizen_text_is_removed_at_any_depth_and_inside_json_strings() -> None:
    from kemala_cli.audit.load import without_citizen_text

    envelope = json.dumps({"type": "ticket.assigned", "ticket": {"id": "T1", "text": "jalan rusak"}})
    item = {
        "pk": "TICKET#T1",
        "sk": "OUTBOX#00000002",
        "envelope": envelope,
        "detail": {"followup_text": "x"},
    }
    cleaned = without_citizen_text(item)
    assert json.loads(cleaned["envelope"]) == {"type": "ticket.assigned", "ticket": {"id": "T1"}}
    assert cleaned["detail"] == {} and cleaned["sk"] == "OUTBOX#00000002"
