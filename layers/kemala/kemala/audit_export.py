"""Daily point-in-time exports of TicketsTable to the audit bucket, one per UTC day.

Used by functions/exporter (on a schedule) and by `kemala audit export` (on demand), so both follow the
same rules:

- An export goes to `<prefix>/<YYYY-MM-DD>/AWSDynamoDB/<export id>/...`, where the date is the UTC date of
  the request. DynamoDB writes the export asynchronously; we only start it (the Lambda never waits).
- Idempotent within a day: if an export of the table into today's prefix is IN_PROGRESS or COMPLETED we
  return it instead of starting another. The ClientToken is derived from table, day and the number of
  FAILED attempts today, so a retried invocation (EventBridge/Lambda retries) is a no-op at DynamoDB too,
  while a failed export can be retried the same day.
- Exports into yesterday's or today's prefix that FAILED are counted, so the function can publish them as
  a metric with an alarm on it (an export fails after the Lambda has returned).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from kemala.settings import BaseSettings
from kemala.store.dynamo import DynamoTable

DEFAULT_PREFIX = "exports/tickets"
ACTIVE = ("IN_PROGRESS", "COMPLETED")


class ExporterSettings(BaseSettings):
    """What functions/exporter needs (TICKETS_TABLE comes from the template's Globals)."""

    tickets_table_arn: str = Field(min_length=1)
    audit_bucket: str = Field(min_length=1)
    audit_kms_key_arn: str | None = None
    audit_export_prefix: str = DEFAULT_PREFIX


class ExportInfo(BaseModel):
    """One table export as DynamoDB describes it."""

    export_arn: str
    status: str
    s3_bucket: str
    s3_prefix: str = ""
    item_count: int | None = None
    failure: str | None = None

    @property
    def s3_url(self) -> str:
        return f"s3://{self.s3_bucket}/{self.s3_prefix}/"

    @classmethod
    def from_description(cls, desc: dict[str, Any]) -> ExportInfo:
        failure = None
        if desc.get("FailureCode") or desc.get("FailureMessage"):
            failure = f"{desc.get('FailureCode')}: {desc.get('FailureMessage')}"
        return cls(
            export_arn=desc["ExportArn"],
            status=desc["ExportStatus"],
            s3_bucket=desc.get("S3Bucket", ""),
            s3_prefix=desc.get("S3Prefix", "") or "",
            item_count=desc.get("ItemCount"),
            failure=failure,
        )


class ExportOutcome(BaseModel):
    """What one run of the exporter did."""

    export: ExportInfo
    started: bool  # False: today's export already existed and was returned
    recent_failures: int = 0  # FAILED exports into yesterday's or today's prefix


class ExportFailed(RuntimeError):
    """The export finished with status FAILED (or did not finish in time)."""


def dated_prefix(base: str, day: date) -> str:
    """`exports/tickets/2026-01-05`: no trailing slash, so DynamoDB writes `<prefix>/AWSDynamoDB/...`."""
    return f"{base.strip('/')}/{day.isoformat()}"


def client_token(table_arn: str, day: date, attempt: int) -> str:
    """Deterministic per (table, day, attempt): retried invocations reuse it; DynamoDB dedupes 8 h."""
    digest = hashlib.sha256(table_arn.encode()).hexdigest()[:16]
    return f"kemala-{digest}-{day.isoformat()}-{attempt}"


class TableExports(DynamoTable):
    """Data access: DynamoDB's export API for one table (named by its ARN, as the export API wants)."""

    @property
    def table_arn(self) -> str:
        return self.table

    def all(self) -> list[ExportInfo]:
        """Every export of the table DynamoDB still lists, described (ListExports gives no prefix)."""
        found: list[ExportInfo] = []
        kwargs: dict[str, Any] = {"TableArn": self.table_arn, "MaxResults": 25}
        while True:
            page = self.client.list_exports(**kwargs)
            found.extend(self.describe(s["ExportArn"]) for s in page.get("ExportSummaries", []))
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]

    def describe(self, export_arn: str) -> ExportInfo:
        desc = self.client.describe_export(ExportArn=export_arn)["ExportDescription"]
        return ExportInfo.from_description(desc)

    def start(self, bucket: str, prefix: str, token: str, kms_key_arn: str | None) -> ExportInfo:
        kwargs: dict[str, Any] = {
            "TableArn": self.table_arn,
            "S3Bucket": bucket,
            "S3Prefix": prefix,
            "ExportFormat": "DYNAMODB_JSON",
            "ClientToken": token,
        }
        if kms_key_arn:
            kwargs.update(S3SseAlgorithm="KMS", S3SseKmsKeyId=kms_key_arn)
        desc = self.client.export_table_to_point_in_time(**kwargs)["ExportDescription"]
        return ExportInfo.from_description(desc)


def start_daily_export(settings: ExporterSettings, now: datetime, exports: TableExports) -> ExportOutcome:
    """Start today's export unless one is already running or done; count recent failures."""
    today = now.astimezone(UTC).date()
    prefix = dated_prefix(settings.audit_export_prefix, today)
    yesterday = dated_prefix(settings.audit_export_prefix, today - timedelta(days=1))
    known = [e for e in exports.all() if e.s3_bucket == settings.audit_bucket]
    todays = [e for e in known if e.s3_prefix.rstrip("/") == prefix]
    failures = sum(
        1 for e in known if e.status == "FAILED" and e.s3_prefix.rstrip("/") in (prefix, yesterday)
    )
    for existing in todays:
        if existing.status in ACTIVE:
            return ExportOutcome(export=existing, started=False, recent_failures=failures)
    attempt = sum(1 for e in todays if e.status == "FAILED")
    token = client_token(exports.table_arn, today, attempt)
    started = exports.start(settings.audit_bucket, prefix, token, settings.audit_kms_key_arn)
    return ExportOutcome(export=started, started=True, recent_failures=failures)


def wait_for_export(
    exports: TableExports,
    export_arn: str,
    timeout_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ExportInfo:
    """Poll DescribeExport (1 s, doubling to 15 s) until COMPLETED; raise ExportFailed otherwise."""
    deadline = clock() + timeout_seconds
    delay = 1.0
    while True:
        info = exports.describe(export_arn)
        if info.status == "COMPLETED":
            return info
        if info.status == "FAILED":
            raise ExportFailed(f"export {export_arn} failed: {info.failure or 'no reason given'}")
        if clock() + delay > deadline:
            raise ExportFailed(f"export {export_arn} still {info.status} after {timeout_seconds:.0f} s")
        sleep(delay)
        delay = min(delay * 2, 15.0)
