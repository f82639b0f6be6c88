"""End to end on moto: tickets made by the real webhook and moved by the real store, exported with
DynamoDB's ExportTableToPointInTime (`kemala audit export --wait`), then loaded from s3://, queried,
verified and reported on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import duckdb
import pytest
from kemala.models.ticket import TicketStatus as S
from kemala.store.tickets import Change, TicketStore
from kemala_cli.lambda_loader import load_function

from tests.conftest import Stack
from tests.fixtures.aws_export.build import audit_cli
from tests.x_payloads import complaint_delivery, delete_delivery, http_event, signed

BUCKET = "kemala-audit-local"
AGENCY = "dinas-pu-semarang"


def _deliver(webhook: Any, payload: dict[str, Any]) -> dict[str, Any]:
    body, signature = signed(payload)
    context = mock.MagicMock(function_name="webhook", memory_limit_in_mb=512, aws_request_id="r")
    context.invoked_function_arn = "arn:aws:lambda:ap-southeast-3:123456789012:function:webhook"
    resp = webhook.lambda_handler(
        http_event("POST", body, {"x-twitter-webhooks-signature": signature}), context
    )
    assert resp["statusCode"] == 200, resp
    return dict(json.loads(resp["body"]))


@pytest.fixture
def filled(function_env: Stack) -> Stack:
    """Four complaints through the webhook; then routed, answered, resolved, rejected, closed, withdrawn."""
    stack = function_env
    table = stack.tables["TicketsTable"]
    stack.ddb.update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"}
    )
    webhook = load_function("webhook")
    for n in range(1, 5):
        _deliver(webhook, complaint_delivery(f"#KemalaJateng jalan berlubang no {n}", tweet_id=f"90{n}"))
    _deliver(webhook, complaint_delivery("masih rusak", tweet_id="911", in_reply_to="901", hashtags=()))
    store = TicketStore(table)
    ids = {f"90{n}": store.tweet_link(f"90{n}").ticket_id for n in range(1, 5)}  # type: ignore[union-attr]

    def move(tweet: str, *changes: Change) -> None:
        ticket = store.require(ids[tweet])
        for n, change in enumerate(changes):
            ticket = store.apply(ticket, change, f"2099-01-01T0{n}:00:00.000Z")

    routed = Change(
        "ticket.routed",
        "router",
        S.ASSIGNED,
        fields={
            "agency_id": AGENCY,
            "category": "public_works",
            "region": "kota_semarang",
            "due_at": "2099-01-02T00:00:00.000Z",
        },
    )
    move(
        "901",
        routed,
        Change(  # the agency's own reply text is in the event (and its hash); the loader must keep it
            "reply.requested",
            "agency:" + AGENCY,
            data={"reply_id": "r-1", "text": "Terima kasih, tim kami menuju lokasi 🙏", "kind": "answer"},
        ),
        Change(
            "reply.posted",
            "system:replier",
            S.RESPONDED,
            fields={"first_response_at": "2099-01-01T01:00:00.000Z"},
        ),
        Change(
            "ticket.resolved",
            f"agency:{AGENCY}",
            S.RESOLVED,
            fields={"resolved_at": "2099-01-01T02:00:00.000Z"},
        ),
    )
    move(
        "902",
        routed,
        Change("ticket.rejected", f"agency:{AGENCY}", S.TRIAGE, fields={"agency_id": None, "due_at": None}),
        Change("ticket.closed", "operator", S.CLOSED, fields={"close_reason": "spam"}),
    )
    move("903", Change("ticket.routed", "router", S.TRIAGE, fields={"triage_reason": "low confidence"}))
    _deliver(webhook, delete_delivery("904"))
    stack.ids = ids  # type: ignore[attr-defined]
    return stack


def _export(stack: Stack, capsys: pytest.CaptureFixture[str]) -> str:
    table = stack.tables["TicketsTable"]
    assert audit_cli("export", "--table", table, "--bucket", BUCKET, "--wait") == 0
    out, err = capsys.readouterr()
    assert "export started" in err and "export completed" in err
    return out.strip()


def test_export_load_query_verify_report(
    filled: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _export(filled, capsys)
    assert url.startswith(f"s3://{BUCKET}/exports/tickets/") and url.endswith("/")
    # moto really wrote the export: one gzip data file under AWSDynamoDB/<id>/data/, no manifests
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 1 and "/AWSDynamoDB/" in keys[0] and keys[0].endswith(".gz")

    db = str(tmp_path / "audit.duckdb")
    assert audit_cli("load", url, "--db", db) == 0
    out = capsys.readouterr().out
    assert "moto layout, no manifest: completeness not checked" in out
    assert "4 tickets, 14 ticket_events, 5 tweet_links" in out

    con = duckdb.connect(db, read_only=True)
    statuses = dict(con.execute("SELECT tweet_id, status FROM tickets").fetchall())
    assert statuses == {"901": "RESOLVED", "902": "CLOSED", "903": "TRIAGE", "904": "WITHDRAWN"}
    types = [
        r[0]
        for r in con.execute(
            "SELECT type FROM ticket_events WHERE ticket_id = ? ORDER BY seq",
            [filled.ids["901"]],  # type: ignore[attr-defined]
        ).fetchall()
    ]
    assert types == [
        "ticket.created",
        "ticket.followup",
        "ticket.routed",
        "reply.requested",
        "reply.posted",
        "ticket.resolved",
    ]
    con.close()

    assert audit_cli("verify", "--db", db) == 0
    assert "verified 4 tickets and 14 events: 0 failed, 4 intact" in capsys.readouterr().out

    csv_dir = tmp_path / "csv"
    assert audit_cli("report", "--db", db, "--out", str(tmp_path / "r.html"), "--csv-dir", str(csv_dir)) == 0
    assert (csv_dir / "rejections_reassignments.csv").read_text().splitlines() == [
        "agency_id,held,rejected,reassigned_away,reassigned_in",
        f"{AGENCY},2,1,0,0",
    ]
    assert "closed: spam" in (csv_dir / "triage.csv").read_text()


def test_a_ticket_changed_behind_the_store_is_named(
    filled: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = filled.ids["903"]  # type: ignore[attr-defined]
    filled.ddb.update_item(
        TableName=filled.tables["TicketsTable"],
        Key={"pk": {"S": f"TICKET#{victim}"}, "sk": {"S": "TICKET"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "RESOLVED"}},
    )
    url = _export(filled, capsys)
    db = str(tmp_path / "audit.duckdb")
    assert audit_cli("load", url, "--db", db) == 0
    capsys.readouterr()
    assert audit_cli("verify", "--db", db) == 1
    out = capsys.readouterr().out
    assert (
        f"FAIL ticket {victim} (" in out and "status is 'RESOLVED' but its events replay to 'TRIAGE'" in out
    )
    assert "1 failed, 3 intact" in out


def test_operator_decisions_become_training_examples(
    filled: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = TicketStore(filled.tables["TicketsTable"])
    triaged = store.require(filled.ids["903"])  # type: ignore[attr-defined]
    delegated = Change(
        "ticket.delegated",
        "operator",
        S.ASSIGNED,
        fields={"agency_id": "pdam-semarang", "category": "water_utility"},
        data={"category_was": None},
    )
    store.apply(triaged, delegated, "2099-01-03T00:00:00.000Z")
    url = _export(filled, capsys)
    db = str(tmp_path / "audit.duckdb")
    assert audit_cli("load", url, "--db", db) == 0
    capsys.readouterr()
    assert audit_cli("labels", "--db", db) == 2  # without the text there is nothing to learn from
    assert "--with-text" in capsys.readouterr().err

    assert audit_cli("load", url, "--db", db, "--with-text") == 0
    out = tmp_path / "labels.jsonl"
    assert audit_cli("labels", "--db", db, "--out", str(out)) == 0
    examples = [json.loads(line) for line in out.read_text().splitlines()]
    assert examples == [
        {
            "id": filled.ids["903"],  # type: ignore[attr-defined]
            "text": "#KemalaJateng jalan berlubang no 3",
            "category": "water_utility",
            "agency": "pdam-semarang",
            "source": "operator ticket.delegated",
        }
    ]  # the router's own assignments (901, 902) are not labels: nobody checked them
