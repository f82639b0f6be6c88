"""`kemala agencies apply` on moto: validation names every problem, queues get SSE and a DLQ, a second
run changes nothing, agency-owned queues are recorded, and XACCOUNTS follows the agencies' X accounts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kemala.routing.registry import Registry
from kemala.store.agencies import AgencyStore
from kemala.store.directory import Directory
from kemala_cli.main import main

from tests.conftest import PROJECT_ROOT, Stack

CONFIG = PROJECT_ROOT / "config" / "agencies.yaml"
OWNED_URL = "https://sqs.ap-southeast-3.amazonaws.com/210987654321/pln-complaints"


def _write(tmp_path: Path, agencies: list[dict[str, Any]]) -> Path:
    path = tmp_path / "agencies.yaml"
    path.write_text(yaml.safe_dump({"agencies": agencies}, allow_unicode=True), encoding="utf-8")
    return path


def _agency(id_: str, region: str = "jateng", **extra: Any) -> dict[str, Any]:
    level = "province" if region == "jateng" else "regency"
    return {
        "id": id_,
        "name": f"Dinas {id_}",
        "level": level,
        "region": region,
        "categories": ["public_works"],
        **extra,
    }


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def table(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DIRECTORY_TABLE", stack.tables["DirectoryTable"])
    return stack.tables["DirectoryTable"]


def test_default_registry_applies_twice_cleanly(
    stack: Stack, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "agencies", "apply", str(CONFIG))
    expected = len(Registry.from_yaml(CONFIG))
    assert code == 0
    assert f"{expected} agencies: {expected} created, 0 updated, 0 unchanged" in out

    code, out, _ = _run(capsys, "agencies", "apply", str(CONFIG))
    assert code == 0
    assert f"{expected} agencies: 0 created, 0 updated, {expected} unchanged; nothing changed" in out
    assert "XACCOUNTS" not in out and "agency index" not in out

    store = AgencyStore(table)
    agencies = store.list_all()
    assert len(agencies) == expected
    registry = store.registry()
    grobogan = registry.resolve("public_works", "kab-grobogan")
    assert grobogan is not None and grobogan.queue_url
    assert grobogan.queue_url.endswith("/kemala-agency-kab-grobogan-dpupr")


def test_each_agency_queue_has_sse_and_its_own_dlq(
    stack: Stack, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "agencies", "apply", str(CONFIG))[0] == 0
    agency = AgencyStore(table).get("kota-semarang-dpu")
    assert agency is not None and agency.queue_url and not agency.queue_owned_by_agency
    attrs = stack.sqs.get_queue_attributes(QueueUrl=agency.queue_url, AttributeNames=["All"])["Attributes"]
    assert attrs["SqsManagedSseEnabled"] == "true"
    redrive = json.loads(attrs["RedrivePolicy"])
    dlq_url = stack.sqs.get_queue_url(QueueName="kemala-agency-kota-semarang-dpu-dlq")["QueueUrl"]
    dlq = stack.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == 5
    assert dlq["SqsManagedSseEnabled"] == "true"


def test_invalid_file_names_every_problem_and_writes_nothing(
    stack: Stack, table: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path,
        [
            _agency("jateng-dpu"),
            _agency("kab-x-dpu", region="kab-atlantis"),
            {**_agency("jateng-dpu"), "categories": ["roads"]},
            {**_agency("kota-semarang-dpu", region="kota-semarang"), "queue_url": "http://example.com/q"},
            {**_agency("kab-grobogan-dpupr", region="kab-grobogan"), "sla_hours": 0, "sla_hour": 5},
            {**_agency("jateng-dpu2"), "categories": ["public_works"]},
            {"id": "Bad Id", "name": "x", "level": "ministry", "categories": []},
        ],
    )
    code, out, err = _run(capsys, "agencies", "apply", str(path))
    assert code == 2
    lines = err.splitlines()

    def has(fragment: str) -> bool:
        return any(fragment in line for line in lines)

    assert has("agencies[1] (kab-x-dpu): region: unknown region id 'kab-atlantis'")
    assert has("agencies[2] (jateng-dpu): id: duplicate of agencies[0]")
    assert has("agencies[2] (jateng-dpu): categories[0]: unknown category code 'roads'")
    assert has("agencies[3] (kota-semarang-dpu): queue_url: not an SQS queue URL")
    assert has("agencies[4] (kab-grobogan-dpupr): sla_hours:")
    assert has("agencies[4] (kab-grobogan-dpupr): sla_hour: unknown field")
    assert has("agencies[5] (jateng-dpu2): categories: jateng-dpu already answers for 'public_works'")
    assert has("agencies[6] (Bad Id): id:") and has("agencies[6] (Bad Id): level:")
    assert has("agencies[6] (Bad Id): categories:") and has("agencies[6] (Bad Id): name:")
    assert "nothing was written" in lines[-1]
    assert out == ""
    assert stack.ddb.scan(TableName=table)["Count"] == 0
    assert not [u for u in stack.sqs.list_queues().get("QueueUrls", []) if "kemala-agency-" in u]


def test_yaml_and_shape_errors_are_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("agencies: [\n", encoding="utf-8")
    code, _, err = _run(capsys, "agencies", "validate", str(bad))
    assert code == 2 and "not valid YAML" in err and "line" in err
    bad.write_text("- id: x\n", encoding="utf-8")
    code, _, err = _run(capsys, "agencies", "validate", str(bad))
    assert code == 2 and "expected a mapping with an 'agencies' list" in err
    code, _, err = _run(capsys, "agencies", "validate", str(tmp_path / "missing.yaml"))
    assert code == 2 and "no such file" in err


def test_changes_are_reported_per_field_and_a_damaged_queue_is_repaired(
    stack: Stack, table: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agencies = [_agency("jateng-dpu"), _agency("kab-grobogan-dpupr", region="kab-grobogan")]
    path = _write(tmp_path, agencies)
    assert _run(capsys, "agencies", "apply", str(path))[0] == 0

    agencies[1]["sla_hours"] = 24
    agencies[1]["name"] = "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Grobogan"
    path = _write(tmp_path, agencies)
    url = stack.sqs.get_queue_url(QueueName="kemala-agency-jateng-dpu")["QueueUrl"]
    stack.sqs.set_queue_attributes(QueueUrl=url, Attributes={"SqsManagedSseEnabled": "false"})
    code, out, _ = _run(capsys, "agencies", "apply", str(path))
    assert code == 0
    assert "kab-grobogan-dpupr: updated (name, sla_hours)" in out
    assert "jateng-dpu: updated (queue SqsManagedSseEnabled)" in out
    assert "2 agencies: 0 created, 2 updated, 0 unchanged" in out
    attrs = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["SqsManagedSseEnabled"])
    assert attrs["Attributes"]["SqsManagedSseEnabled"] == "true"
    stored = AgencyStore(table).get("kab-grobogan-dpupr")
    assert stored is not None and stored.sla_hours == 24


def test_agency_owned_queue_is_recorded_and_no_queue_is_created(
    stack: Stack, table: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path,
        [
            {
                **_agency("pln-uid-jateng-diy"),
                "level": "utility",
                "queue_url": OWNED_URL,
                "categories": ["electricity"],
            }
        ],
    )
    code, out, _ = _run(capsys, "agencies", "apply", str(path))
    assert code == 0
    assert "arn:aws:sqs:ap-southeast-3:210987654321:pln-complaints" in out
    agency = AgencyStore(table).get("pln-uid-jateng-diy")
    assert agency is not None and agency.queue_url == OWNED_URL and agency.queue_owned_by_agency
    assert not [u for u in stack.sqs.list_queues().get("QueueUrls", []) if "kemala-agency-" in u]
    assert "0 created, 0 updated, 1 unchanged" in _run(capsys, "agencies", "apply", str(path))[1]


def test_xaccounts_holds_every_agency_x_user_id(
    stack: Stack, table: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agencies = [_agency("jateng-dpu", x_user_id="111"), _agency("jateng-dinkes", x_user_id="222")]
    agencies[1]["categories"] = ["health"]
    assert _run(capsys, "agencies", "apply", str(_write(tmp_path, agencies)))[0] == 0
    assert Directory(table).own_account_ids() == {"111", "222"}

    agencies[1]["x_user_id"] = "333"
    _, out, _ = _run(capsys, "agencies", "apply", str(_write(tmp_path, agencies)))
    assert "XACCOUNTS: 1 added, 1 removed (2 agency X accounts)" in out
    assert Directory(table, cache_seconds=0).own_account_ids() == {"111", "333"}


def test_list_shows_the_applied_agencies(table: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "agencies", "apply", str(CONFIG))[0] == 0
    code, out, _ = _run(capsys, "agencies", "list", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and {r["id"] for r in rows} == {a.id for a in Registry.from_yaml(CONFIG).agencies}
    assert all(r["queue_url"] for r in rows)


def test_apply_without_a_table_says_how_to_name_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DIRECTORY_TABLE", raising=False)
    code, _, err = _run(capsys, "agencies", "apply", str(CONFIG))
    assert code == 2 and "--directory-table" in err


def test_an_agency_left_in_the_directory_may_not_clash_with_the_file(
    stack: Stack, table: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "agencies", "apply", str(_write(tmp_path, [_agency("jateng-dpu-lama")])))[0] == 0
    renamed = _write(tmp_path, [_agency("jateng-dpubmck")])
    code, out, err = _run(capsys, "agencies", "apply", str(renamed))
    assert code == 2 and "'jateng-dpu-lama' and 'jateng-dpubmck' both answer for 'public_works'" in err
    assert "active: false" in err and AgencyStore(table).get("jateng-dpubmck") is None
    retired = _write(tmp_path, [{**_agency("jateng-dpu-lama"), "active": False}, _agency("jateng-dpubmck")])
    code, out, _ = _run(capsys, "agencies", "apply", str(retired))
    assert code == 0 and "jateng-dpu-lama: updated (active)" in out
    resolved = AgencyStore(table).registry().resolve("public_works", "kab-blora")
    assert resolved is not None and resolved.id == "jateng-dpubmck"
