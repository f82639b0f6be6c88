"""The reply job contract: `detail` of `reply.requested` (OutboundQueue) and `reply.failed` (agency queues).

functions/api builds `ReplyRequest` when an agency or operator replies; functions/replier posts it to X and,
when X refuses it for good, tells the agency with `ReplyFailed`. Both travel inside `Envelope.detail`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class ReplyRequest(BaseModel):
    """What to post, where, and as whom. `reply_id` (a UUID4 made by the API; for an acknowledgement a
    UUID5 of the ticket id) is the idempotency key: one reply_id reaches X at most once, however often the
    message is delivered."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    reply_id: str = Field(
        pattern=r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
    )
    text: str = Field(min_length=1)
    in_reply_to_tweet_id: str = Field(pattern=r"^[0-9]{1,19}$")
    agency_id: str = Field(min_length=1)  # whose X account posts it
    requested_by: str = Field(min_length=1)  # the API principal (`agency:<id>`, `operator`) or `router`
    # `answer`: the agency's reply (RESPONDED, first_response_at). `ack`: the province's acknowledgement
    # (reference code and agency name), which leaves the ticket's status and reply fields alone.
    kind: Literal["answer", "ack"] = "answer"


class ReplyFailed(BaseModel):
    """X refused the reply for good (or it could not be sent at all); `reason` is X's own words."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    reply_id: str
    agency_id: str
    in_reply_to_tweet_id: str
    text: str
    reason: str
    x_status: int | None = None  # X's HTTP status, when X answered
