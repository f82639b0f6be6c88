"""The outbound path: reply jobs from OutboundQueue posted to X as the agency, exactly once (docs/replies.md).

- `credentials`: an agency's X OAuth 1.0a credentials from Secrets Manager (cached).
- `service`: one reply job → claim, X, ticket; the exactly-once boundary.
- `sqs`: the SQS side (visibility for retries, the DLQ for jobs we give up on).
"""

from __future__ import annotations

from pydantic import Field

from kemala.settings import BaseSettings
from kemala.x.client import DEFAULT_BASE_URL


class ReplierSettings(BaseSettings):
    """What functions/replier needs (environment variables, upper-cased)."""

    directory_table: str = Field(min_length=1)
    idempotency_table: str = Field(min_length=1)
    outbound_queue_url: str = Field(min_length=1)
    outbound_dlq_url: str = Field(min_length=1)
    x_api_base_url: str = Field(default=DEFAULT_BASE_URL, pattern=r"^https?://")
