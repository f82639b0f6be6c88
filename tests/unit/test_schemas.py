"""docs/schemas/ is what the pydantic models generate (no drift), and the schemas accept real messages
and refuse wrong ones, so agencies can rely on them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from kemala.models.messages import Envelope, MessageType
from kemala.models.ticket import Suggestion, Ticket, TicketStatus
from kemala_cli.main import main
from kemala_cli.schemas_cmd import SCHEMA_DIR, drift, generate

from tests.conftest import PROJECT_ROOT


def message_schema(type_: str) -> dict[str, Any]:
    """The committed schema for one message type (used by the router tests too)."""
    return json.loads((SCHEMA_DIR / f"{type_}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def assert_valid_message(message: dict[str, Any]) -> None:
    """`message` validates against the envelope schema and its own type's schema."""
    jsonschema.validate(message, message_schema("envelope"))
    jsonschema.validate(message, message_schema(message["type"]))


def _ticket() -> Ticket:
    return Ticket(
        id="01JEXAMPLE0000000000000000",
        ref="KJ-ABCD-EFGH",
        tweet_id="1124287614780047362",
        author_id="14235326",
        text="jalan berlubang di Purwodadi",
        status=TicketStatus.ASSIGNED,
        agency_id="kab-grobogan-dpupr",
        category="public_works",
        confidence=0.93,
        suggestions=[Suggestion(category="public_works", confidence=0.93, agency_id="kab-grobogan-dpupr")],
        created_at="2026-12-04T00:00:00.000Z",
        updated_at="2026-12-04T00:00:01.000Z",
    )


def test_committed_schemas_equal_the_generated_ones() -> None:
    assert SCHEMA_DIR == PROJECT_ROOT / "docs" / "schemas"
    assert drift() == [], "run `kemala schemas` and commit docs/schemas/"
    assert set(generate()) == {"envelope.json"} | {f"{t.value}.json" for t in MessageType}


def test_check_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "--out", str(tmp_path)]) == 0
    assert main(["schemas", "--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "ticket.assigned.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "old.json").write_text("{}\n", encoding="utf-8")
    assert main(["schemas", "--out", str(tmp_path), "--check"]) == 2
    err = capsys.readouterr().err
    assert "ticket.assigned.json" in err and "old.json" in err


def test_every_schema_is_a_valid_json_schema() -> None:
    for schema in generate().values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_a_built_message_validates_and_a_wrong_one_does_not() -> None:
    message = json.loads(
        Envelope.build(MessageType.ASSIGNED, _ticket(), "2026-12-04T00:00:01.000Z").model_dump_json()
    )
    assert_valid_message(message)
    with pytest.raises(jsonschema.ValidationError):  # another type's schema refuses it
        jsonschema.validate(message, message_schema("ticket.needs_triage"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**message, "version": 2}, message_schema("envelope"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**message, "extra": 1}, message_schema("envelope"))
    broken = {**message, "ticket": {k: v for k, v in message["ticket"].items() if k != "ref"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, message_schema("envelope"))
