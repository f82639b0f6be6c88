"""`kemala routing classify|eval|train|compile`, driven through kemala_cli.main.main."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from kemala_cli import main as cli

from tests.conftest import SHARED_DATA

TRAIN = SHARED_DATA / "complaints" / "train.jsonl"
AGENCIES = Path(__file__).resolve().parents[3] / "config" / "agencies.yaml"


@pytest.fixture(autouse=True)
def _only_routing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The routing group on its own: another group's import problem must not fail these tests."""
    monkeypatch.setattr(cli, "COMMAND_GROUPS", ["routing_cmd"])


def run(argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_classify_writes_one_decision_per_line(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    stdin = "\n".join(
        [
            json.dumps({"id": "t1", "text": "#KemalaJateng jalan berlubang di Jl. Raya Purwodadi km 12"}),
            json.dumps({"text": "air pdam mati 3 hari", "place": "Ungaran, Indonesia"}),
        ]
    )
    code, out, _ = run(["routing", "classify", "--agencies", str(AGENCIES)], stdin, monkeypatch, capsys)
    assert code == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["id"] == "t1"
    assert {"category", "confidence", "region", "agency", "decision", "reason", "alternatives"} <= set(first)
    assert (first["category"], first["region"], first["decision"]) == ("public_works", "kab-grobogan", "auto")
    assert first["agency"]
    assert (second["category"], second["region"]) == ("water_utility", "kab-semarang")


def test_classify_threshold_one_sends_everything_to_triage(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    stdin = json.dumps({"text": "jalan berlubang di Purwodadi"})
    argv = ["routing", "classify", "--threshold", "1", "--agencies", str(AGENCIES)]
    code, out, _ = run(argv, stdin, monkeypatch, capsys)
    result = json.loads(out)
    assert code == 0
    assert result["decision"] == "triage"
    assert result["reason"].startswith("low confidence")


def test_classify_reports_bad_lines_by_number_and_goes_on(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    stdin = "\n".join(["not json", json.dumps({"text": "sampah numpuk"}), json.dumps({"text": ""}), "[1]"])
    code, out, err = run(["routing", "classify", "--agencies", str(AGENCIES)], stdin, monkeypatch, capsys)
    assert code == 2
    assert len(out.splitlines()) == 1
    assert "line 1: not JSON" in err
    assert "line 3: 'text' must be a non-empty string" in err
    assert "line 4: expected a JSON object" in err
    assert "3 bad input line(s) skipped: 1, 3, 4" in err


def test_classify_without_a_registry_file_is_a_clear_error(monkeypatch, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nope.yaml"
    code, _, err = run(["routing", "classify", "--agencies", str(missing)], "", monkeypatch, capsys)
    assert code == 2
    assert f"agency registry {missing} not found" in err


def test_eval_prints_overall_and_per_category_figures(monkeypatch, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sample = tmp_path / "sample.jsonl"
    sample.write_text("\n".join(TRAIN.read_text(encoding="utf-8").splitlines()[:40]) + "\n")
    code, out, _ = run(["routing", "eval", str(sample), "--truncate", "280"], "", monkeypatch, capsys)
    assert code == 0
    assert "first 280 characters" in out
    for label in ("accuracy:", "macro-F1:", "coverage:", "accuracy-on-routed:", "public_works"):
        assert label in out


def test_eval_names_the_bad_line(monkeypatch, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sample = tmp_path / "bad.jsonl"
    sample.write_text(json.dumps({"text": "jalan rusak", "category": "public_works"}) + "\n{oops\n")
    code, _, err = run(["routing", "eval", str(sample)], "", monkeypatch, capsys)
    assert code == 2
    assert f"{sample}:2: not JSON" in err


def test_compile_check_passes_on_the_committed_data(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(["routing", "compile", "--check"], "", monkeypatch, capsys)
    assert (code, out.strip()) == (0, "routing data in sync with config/")


def test_train_on_a_small_slice_writes_a_loadable_model(monkeypatch, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kemala.routing.classifier import Classifier

    rows = [json.loads(line) for line in TRAIN.read_text(encoding="utf-8").splitlines()]
    keep = [r for r in rows if r["category"] in {"public_works", "civil_registry", "education"}][:90]
    data = tmp_path / "slice.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in keep))
    out_path = tmp_path / "model.json"
    monkeypatch.setattr("kemala_cli.routing_train.write_compiled", lambda *a: [])  # leave the layer alone
    code, out, _ = run(["routing", "train", str(data), "--out", str(out_path)], "", monkeypatch, capsys)
    assert code == 0
    assert f"wrote {out_path}: 90 examples" in out
    model = Classifier.load(out_path)
    assert model.linear.classes == ["public_works", "civil_registry", "education"]
    assert model.classify("sekolah anak saya minta uang gedung").category == "education"
