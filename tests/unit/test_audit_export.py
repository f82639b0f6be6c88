"""The daily exporter: one export per UTC day, retried when it failed, failures counted; and the wait."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from unittest import mock

import boto3
import pytest
from kemala.audit_export import (
    ExporterSettings,
    ExportFailed,
    ExportInfo,
    TableExports,
    client_token,
    dated_prefix,
    start_daily_export,
    wait_for_export,
)
from kemala_cli.lambda_loader import load_function

from tests.conftest import Stack

BUCKET = "kemala-audit"
DAY = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


@pytest.fixture
def exporter(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> ExporterSettings:
    """TicketsTable with PITR on (as template.yaml has it) and the audit bucket."""
    table = stack.tables["TicketsTable"]
    stack.ddb.update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"}
    )
    arn = stack.ddb.describe_table(TableName=table)["Table"]["TableArn"]
    env = {"TICKETS_TABLE": table, "TICKETS_TABLE_ARN": arn, "AUDIT_BUCKET": BUCKET}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ExporterSettings(tickets_table=table, tickets_table_arn=arn, audit_bucket=BUCKET)


def _finish(exports: TableExports, info: ExportInfo) -> ExportInfo:
    """moto runs the export in a thread; wait for it without real sleeping."""
    try:
        return wait_for_export(exports, info.export_arn, 30, sleep=lambda s: None)
    except ExportFailed:
        return exports.describe(info.export_arn)


def test_one_export_per_day_under_a_dated_prefix(exporter: ExporterSettings) -> None:
    exports = TableExports(exporter.tickets_table_arn)
    first = start_daily_export(exporter, DAY, exports)
    assert first.started and first.export.s3_prefix == "exports/tickets/2026-03-02"
    assert _finish(exports, first.export).status == "COMPLETED"
    again = start_daily_export(exporter, DAY.replace(hour=23), exports)
    assert not again.started and again.export.export_arn == first.export.export_arn
    next_day = start_daily_export(exporter, datetime(2026, 3, 3, 0, 30, tzinfo=UTC), exports)
    assert next_day.started and next_day.export.s3_prefix == "exports/tickets/2026-03-03"
    assert len(exports.all()) == 2


def test_a_failed_export_is_counted_and_retried_the_same_day(exporter: ExporterSettings) -> None:
    broken = exporter.model_copy(update={"audit_bucket": "no-such-bucket"})
    exports = TableExports(exporter.tickets_table_arn)
    failed = _finish(exports, start_daily_export(broken, DAY, exports).export)
    assert failed.status == "FAILED" and "S3NoSuchBucket" in (failed.failure or "")
    retry = start_daily_export(broken, DAY, exports)
    assert retry.started and retry.recent_failures == 1
    with pytest.raises(ExportFailed, match="failed: S3NoSuchBucket"):
        wait_for_export(exports, retry.export.export_arn, 30, sleep=lambda s: None)


def test_client_token_is_per_table_day_and_attempt() -> None:
    day = DAY.date()
    assert client_token("arn:t1", day, 0) == client_token("arn:t1", day, 0)
    assert (
        len({client_token("arn:t1", day, 0), client_token("arn:t2", day, 0), client_token("arn:t1", day, 1)})
        == 3
    )
    assert dated_prefix("/exports/tickets/", day) == "exports/tickets/2026-03-02"


def test_wait_gives_up_after_the_timeout() -> None:
    exports = mock.Mock(spec=TableExports)
    exports.describe.return_value = ExportInfo(export_arn="arn:x", status="IN_PROGRESS", s3_bucket=BUCKET)
    clock = iter(range(0, 1000, 10))
    with pytest.raises(ExportFailed, match="still IN_PROGRESS after 60 s"):
        wait_for_export(exports, "arn:x", 60, sleep=lambda s: None, clock=lambda: float(next(clock)))


def test_handler_names_the_day_from_the_schedule_event(exporter: ExporterSettings) -> None:
    app = load_function("exporter")
    event: dict[str, Any] = {
        "version": "0",
        "id": "e1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-03-02T18:00:00Z",
        "region": "ap-southeast-3",
        "resources": ["arn:aws:events:ap-southeast-3:123456789012:rule/daily"],
        "detail": {},
    }
    context = mock.MagicMock(function_name="exporter", memory_limit_in_mb=512, aws_request_id="r1")
    context.invoked_function_arn = "arn:aws:lambda:ap-southeast-3:123456789012:function:exporter"
    first = app.lambda_handler(event, context)
    assert first["started"] is True and first["export"]["s3_prefix"] == "exports/tickets/2026-03-02"
    assert app.lambda_handler(event, context)["started"] is False  # a retried invocation is a no-op
