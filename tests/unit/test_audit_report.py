"""`kemala audit report` on the fixture: every figure equals what was computed by hand from the scenario
in tests/fixtures/aws_export/build.py (times in hours from each complaint; "now" = 2026-03-02T12:00Z,
the export's point in time)."""

from __future__ import annotations

import base64
import csv
import re
from pathlib import Path

import pytest

from tests.fixtures.aws_export.build import FIXTURE, audit_cli

A, B = "dinas-pu-semarang", "pdam-grobogan"


Csvs = dict[str, list[dict[str, str]]]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report")


@pytest.fixture(scope="module")
def db(folder: Path) -> str:
    path = str(folder / "audit.duckdb")
    assert audit_cli("load", str(FIXTURE), "--db", path) == 0
    return path


def _report(out: Path, db: str, *extra: str) -> Csvs:
    csv_dir = out / "csv"
    args = ("report", "--db", db, "--out", str(out / "r.html"), "--csv-dir", str(csv_dir), *extra)
    assert audit_cli(*args) == 0
    return {p.stem: list(csv.DictReader(p.open())) for p in csv_dir.glob("*.csv")}


@pytest.fixture(scope="module")
def figures(folder: Path, db: str) -> Csvs:
    """The report rendered once for the module (charts take a second each run)."""
    return _report(folder, db)


def test_html_embeds_one_png_chart_per_figure(folder: Path, figures: Csvs) -> None:
    page = (folder / "r.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 6
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "Figures as of 2026-03-02T12:00:00+00:00" in page


def test_response_and_resolution_times_per_agency(figures: Csvs) -> None:
    rows = {r["agency_id"]: r for r in figures["response_times"]}
    # A answered T1 after 3 h and T7 after 9 h: median 6, p90 3 + 0.9 * 6 = 8.4; resolved them at 10 h, 11 h.
    assert rows[A] == {
        "agency_id": A,
        "responded": "2",
        "response_median_h": "6.0",
        "response_p90_h": "8.4",
        "resolved": "2",
        "resolution_median_h": "10.5",
        "resolution_p90_h": "10.9",
    }
    # B answered T2 (delegated from triage) after 14 h and resolved nothing.
    assert rows[B]["responded"] == "1" and rows[B]["response_median_h"] == "14.0"
    assert rows[B]["resolved"] == "0" and rows[B]["resolution_median_h"] == ""


def test_sla_counts_open_tickets_already_overdue(figures: Csvs) -> None:
    rows = {r["agency_id"]: r for r in figures["sla"]}
    # A: T1 met, T7 late (due 06:00, answered 09:00); T3 was rejected (no due time) so is not counted.
    assert rows[A] == {
        "agency_id": A,
        "met": "1",
        "late": "1",
        "open_overdue": "0",
        "open_in_time": "0",
        "compliance_pct": "50.0",
    }
    # B: T2 late, T4 open and due since 03-01 12:00, T5 open and due 03-03 06:00.
    assert rows[B] == {
        "agency_id": B,
        "met": "0",
        "late": "1",
        "open_overdue": "1",
        "open_in_time": "1",
        "compliance_pct": "0.0",
    }


def test_now_moves_what_is_overdue_and_how_old_the_backlog_is(tmp_path: Path, db: str) -> None:
    later = _report(tmp_path, db, "--now", "2026-03-04T00:00:00Z")
    sla = {r["agency_id"]: r for r in later["sla"]}
    assert (sla[B]["open_overdue"], sla[B]["open_in_time"]) == ("2", "0")
    assert [(r["age"], r["status"], r["tickets"]) for r in later["backlog"]] == [
        ("1-3 days", "ASSIGNED", "1"),  # T5, 2 days
        ("1-3 days", "RESPONDED", "1"),  # T2, 2 days
        ("3-7 days", "ASSIGNED", "1"),  # T4, exactly 3 days
        ("7-14 days", "TRIAGE", "1"),  # T6, 12 days
    ]


def test_backlog_by_age(figures: Csvs) -> None:
    assert figures["backlog"] == [
        {"age": "< 1 day", "status": "ASSIGNED", "tickets": "1"},  # T5
        {"age": "< 1 day", "status": "RESPONDED", "tickets": "1"},  # T2: answered, not resolved
        {"age": "1-3 days", "status": "ASSIGNED", "tickets": "1"},  # T4
        {"age": "7-14 days", "status": "TRIAGE", "tickets": "1"},  # T6 since 02-20
    ]


def test_triage_volume_and_decisions(figures: Csvs) -> None:
    assert figures["triage"] == [
        {
            "source": "rejected by agency",
            "decision": "closed: not_actionable",
            "tickets": "1",
            "median_hours_in_triage": "2.0",
        },  # T3: rejected 02:00, closed 04:00
        {
            "source": "routing unsure",
            "decision": "delegated",
            "tickets": "1",
            "median_hours_in_triage": "1.5",
        },  # T2: 00:30 -> 02:00
        {
            "source": "routing unsure",
            "decision": "still in triage",
            "tickets": "1",
            "median_hours_in_triage": "",
        },  # T6
    ]


def test_rejections_and_reassignments(figures: Csvs) -> None:
    assert figures["rejections_reassignments"] == [
        {"agency_id": A, "held": "4", "rejected": "1", "reassigned_away": "1", "reassigned_in": "0"},
        {"agency_id": B, "held": "3", "rejected": "0", "reassigned_away": "0", "reassigned_in": "1"},
    ]


def test_categories_by_region(figures: Csvs) -> None:
    rows = {(r["region"], r["category"]): int(r["tickets"]) for r in figures["categories_by_region"]}
    assert rows == {
        ("(unknown)", "(unclassified)"): 1,
        ("kab_grobogan", "public_works"): 1,
        ("kab_grobogan", "water_utility"): 1,
        ("kota_semarang", "public_works"): 3,
        ("kota_surakarta", "health"): 1,
    }


def test_bad_now_and_missing_db_are_cli_errors(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert audit_cli("report", "--db", db, "--out", str(tmp_path / "r.html"), "--now", "yesterday") == 2
    assert "--now 'yesterday' is not an ISO 8601 time" in capsys.readouterr().err
    assert audit_cli("verify", "--db", str(tmp_path / "none.duckdb")) == 2
    assert "no such database" in capsys.readouterr().err
