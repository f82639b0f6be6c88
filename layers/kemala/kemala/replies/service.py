"""One reply job: claim it, post it to X as the agency (at most once), and record the outcome on the ticket.

The exactly-once boundary is the reply claim (store/reply_claims.py), written with a conditional update
before X is called and finished with X's answer right after. Redelivered and concurrent messages find the
claim and never call X while it is live or finished. The one window the claim cannot close — the function
dies, or the connection breaks, after X received the POST but before its answer is recorded — leaves the
claim *in doubt*; the next attempt then looks for the reply on the agency's timeline before posting, and
X's own duplicate-content rule (403) backs that up. See docs/replies.md.

An acknowledgement (`kind: ack`, the province's account telling the citizen the reference code) takes the
same path but is recorded apart: `ack.posted` / `ack.failed`, no status change, no `first_response_at`,
the agency's pending reply untouched, and no `reply.failed` to the agency (it is not the agency's post).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel

from kemala.ids import iso, parse_iso
from kemala.models.messages import Envelope, MessageType
from kemala.models.replies import ReplyFailed, ReplyRequest
from kemala.models.ticket import Ticket, TicketStatus
from kemala.queues import QueueUnavailable, send_envelopes
from kemala.replies.credentials import CredentialsUnusable, agency_credentials
from kemala.routing.types import Agency
from kemala.store.agencies import AgencyStore
from kemala.store.reply_claims import ClaimState, ReplyClaim, ReplyClaims
from kemala.store.tickets import (
    Change,
    DuplicateLink,
    TicketNotFound,
    TicketStore,
    TweetLink,
    put_if_absent,
    tweet_link_item,
    update_with_retry,
)
from kemala.x.client import (
    AlreadyPosted,
    Found,
    Posted,
    PostOutcome,
    RateLimited,
    Rejected,
    Unavailable,
    XClient,
    XCredentials,
)

ACTOR = "system:replier"
MAX_TRANSIENT_FAILURES = 8  # 30 s, 1, 2, 4, 8, 15, 15, 15 min of backoff (~1 h), then the DLQ
MAX_JOB_AGE_SECONDS = 7 * 24 * 3600  # a reply not out within a week fails visibly (queue keeps 14 days)
MAX_VISIBILITY_SECONDS = 12 * 3600 - 300  # SQS caps a message's visibility at 12 h from its receipt
LEASE_MARGIN_SECONDS = 30
DEFAULT_REMAINING_SECONDS = 60.0
NOT_REPLYABLE = frozenset({TicketStatus.CLOSED, TicketStatus.WITHDRAWN})
logger = Logger(child=True)
RESPONDS = frozenset({TicketStatus.ASSIGNED, TicketStatus.RESPONDED})  # statuses that move to RESPONDED


class ReplyOutcome(StrEnum):
    POSTED = "posted"
    FAILED = "failed"
    DUPLICATE = "duplicate"  # this reply was handled before: nothing done


class ReplyResult(BaseModel):
    outcome: ReplyOutcome
    reply_id: str
    ticket_id: str
    tweet_id: str | None = None
    kind: str = "answer"  # the ReplyRequest's kind: `answer` or `ack`


class RetryLater(Exception):
    """Not now: come back in `seconds` (the message's visibility). Neither a success nor a failure."""

    def __init__(self, seconds: int, reason: str) -> None:
        super().__init__(reason)
        self.seconds = max(1, min(int(seconds), MAX_VISIBILITY_SECONDS))
        self.reason = reason


class DeadLetter(Exception):
    """Give up on this message and park it in the DLQ (its alarm pages the operators)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def transient_backoff(failures: int) -> int:
    """Exponential: 30 s after the first failure, doubling, at most 15 minutes."""
    return int(min(30 * 2 ** max(failures - 1, 0), 900))


@dataclass
class ReplyService:
    tickets: TicketStore
    agencies: AgencyStore
    claims: ReplyClaims
    x_base_url: str
    credentials: Callable[[Agency], XCredentials] = agency_credentials
    clock: Callable[[], float] = time.time
    _clients: dict[XCredentials, XClient] = field(default_factory=dict)

    def handle(self, envelope: Envelope, remaining_seconds: float | None = None) -> ReplyResult:
        """Post `envelope`'s reply once. Raises RetryLater or DeadLetter; StorageUnavailable propagates."""
        if envelope.type is not MessageType.REPLY_REQUESTED:
            raise DeadLetter(f"OutboundQueue carries reply.requested only, not {envelope.type.value}")
        request = ReplyRequest.model_validate(envelope.detail)
        ticket_id = envelope.ticket.id
        known = self.claims.get(request.reply_id)
        if known is not None and not self._claimable(known):
            return self._resume(known, request, ticket_id)
        try:
            ticket = self.tickets.require(ticket_id)
        except TicketNotFound:
            raise DeadLetter(f"ticket {ticket_id} does not exist") from None
        agency = self.agencies.get(request.agency_id)
        problem = self._refusal(ticket, request, agency, envelope.occurred_at)
        creds: XCredentials | None = None
        if problem is None and agency is not None:
            try:
                creds = self.credentials(agency)
            except CredentialsUnusable as exc:
                problem = str(exc)
        now = self.clock()
        token = uuid.uuid4().hex
        lease_until = now + (remaining_seconds or DEFAULT_REMAINING_SECONDS) + LEASE_MARGIN_SECONDS
        previous = self.claims.claim(request.reply_id, token, int(now), int(lease_until))
        if previous is None:  # lost a race with another delivery of the same reply
            current = self.claims.get(request.reply_id)
            assert current is not None
            return self._resume(current, request, ticket_id)
        if problem is not None or creds is None or agency is None:
            reason = problem or "no credentials"
            claim = self.claims.finish(request.reply_id, token, ClaimState.FAILED, reason=reason)
            return self._record(claim, request, ticket_id)
        in_doubt = previous.in_doubt or previous.state is ClaimState.POSTING
        client = self._client(creds)
        outcome, note = self._reconcile(client, agency, request) if in_doubt else (None, None)
        if outcome is None:
            outcome = client.create_reply(request.text, request.in_reply_to_tweet_id, self.clock())
        return self._conclude(outcome, note, in_doubt, token, request, ticket_id)

    # --- before posting ----------------------------------------------------------------------------

    def _claimable(self, claim: ReplyClaim) -> bool:
        return claim.state is ClaimState.RETRY or claim.stale(self.clock())

    def _resume(self, claim: ReplyClaim, request: ReplyRequest, ticket_id: str) -> ReplyResult:
        """A claim that is not ours to post: finished (record it again, idempotently) or held elsewhere."""
        if claim.state is ClaimState.DONE:
            return ReplyResult(
                outcome=ReplyOutcome.DUPLICATE,
                reply_id=request.reply_id,
                ticket_id=ticket_id,
                kind=request.kind,
            )
        if claim.state in (ClaimState.POSTED, ClaimState.FAILED):
            return self._record(claim, request, ticket_id)
        wait = claim.lease_until - self.clock() + 1 if claim.state is ClaimState.POSTING else 1
        raise RetryLater(int(wait), "another attempt is posting this reply")

    def _refusal(
        self, ticket: Ticket, request: ReplyRequest, agency: Agency | None, requested_at: str
    ) -> str | None:
        """Why this reply must not be posted at all, or None. Each reason is shown to the agency."""
        if ticket.status in NOT_REPLYABLE:
            return f"ticket {ticket.ref} is {ticket.status.value}; the reply was not posted"
        if agency is None:
            return f"agency {request.agency_id} is not registered"
        requester = request.requested_by.removeprefix("agency:")
        if request.requested_by.startswith("agency:") and (
            requester != agency.id or (ticket.agency_id is not None and ticket.agency_id != agency.id)
        ):
            return f"{request.requested_by} may not reply to ticket {ticket.ref} as agency {agency.id}"
        if request.in_reply_to_tweet_id != ticket.tweet_id:
            link = self.tickets.tweet_link(request.in_reply_to_tweet_id)
            if link is None or link.ticket_id != ticket.id:
                return f"tweet {request.in_reply_to_tweet_id} is not part of ticket {ticket.ref}"
        if self.clock() - parse_iso(requested_at).timestamp() > MAX_JOB_AGE_SECONDS:
            return f"not posted within {MAX_JOB_AGE_SECONDS // 86400} days of the request (X unavailable)"
        return None

    def _client(self, creds: XCredentials) -> XClient:
        if creds not in self._clients:  # a rotated secret gives new credentials, hence a new client
            self._clients.clear()
            self._clients[creds] = XClient(creds, base_url=self.x_base_url)
        return self._clients[creds]

    def _reconcile(
        self, client: XClient, agency: Agency, request: ReplyRequest
    ) -> tuple[PostOutcome | None, str | None]:
        """An earlier attempt may have posted: look on the agency's timeline first. Returns the outcome
        to conclude with, or (None, None) to post (X's duplicate-content rule still guards that post)."""
        if not agency.x_user_id:
            return None, None
        found = client.find_reply(agency.x_user_id, request.in_reply_to_tweet_id, request.text, self.clock())
        if isinstance(found, Found):
            note = "an interrupted attempt had posted it; found on the agency's timeline"
            return Posted(found.tweet_id, request.text), note
        if isinstance(found, RateLimited):
            return found, None
        if isinstance(found, Unavailable):  # still in doubt: do not post before we know
            return Unavailable(found.reason, in_doubt=True, status=found.status), None
        return None, None  # NotFound, or Rejected (this access level cannot read timelines)

    # --- after X answered --------------------------------------------------------------------------

    def _conclude(
        self,
        outcome: PostOutcome,
        note: str | None,
        in_doubt: bool,
        token: str,
        request: ReplyRequest,
        ticket_id: str,
    ) -> ReplyResult:
        reply_id = request.reply_id
        if isinstance(outcome, Posted):
            claim = self.claims.finish(
                reply_id, token, ClaimState.POSTED, tweet_id=outcome.tweet_id, note=note
            )
        elif isinstance(outcome, AlreadyPosted):
            note = (
                "X refused it as duplicate content: this account already posted the same text, so it is "
                "treated as posted; the reply's tweet id is unknown"
            )
            claim = self.claims.finish(reply_id, token, ClaimState.POSTED, note=note)
        elif isinstance(outcome, Rejected):
            claim = self.claims.finish(
                reply_id, token, ClaimState.FAILED, reason=outcome.reason, x_status=outcome.status
            )
        elif isinstance(outcome, RateLimited):
            self.claims.release(reply_id, token, in_doubt=in_doubt, counter="rate_limited")
            raise RetryLater(int(outcome.reset - self.clock()) + 1, "X rate limit; waiting for its reset")
        else:
            released = self.claims.release(
                reply_id, token, in_doubt=in_doubt or outcome.in_doubt, counter="transient_failures"
            )
            if released.transient_failures >= MAX_TRANSIENT_FAILURES:
                raise DeadLetter(f"X unavailable {released.transient_failures} times: {outcome.reason}")
            raise RetryLater(transient_backoff(released.transient_failures), outcome.reason)
        return self._record(claim, request, ticket_id)

    def _record(self, claim: ReplyClaim, request: ReplyRequest, ticket_id: str) -> ReplyResult:
        """Write the known outcome on the ticket, once: the claim turns `done` in the same transaction."""
        at = iso_now(self.clock)
        ack = request.kind == "ack"
        if claim.state is ClaimState.FAILED and ack:
            logger.warning(
                "acknowledgement not posted",
                extra={"ticket_id": ticket_id, "reason": claim.reason, "x_status": claim.x_status},
            )
        elif claim.state is ClaimState.FAILED:
            self._notify_failure(claim, request, ticket_id, at)
        if claim.state is ClaimState.POSTED:
            build = self._ack_posted_change if ack else self._posted_change
        else:
            build = self._ack_failed_change if ack else self._failed_change
        try:
            update_with_retry(
                self.tickets, ticket_id, lambda t: build(t, claim, request, at), lambda: iso_now(self.clock)
            )
        except DuplicateLink:
            return ReplyResult(
                outcome=ReplyOutcome.DUPLICATE,
                reply_id=request.reply_id,
                ticket_id=ticket_id,
                kind=request.kind,
            )
        except TicketNotFound:
            raise DeadLetter(f"ticket {ticket_id} does not exist") from None
        outcome = ReplyOutcome.POSTED if claim.state is ClaimState.POSTED else ReplyOutcome.FAILED
        return ReplyResult(
            outcome=outcome,
            reply_id=request.reply_id,
            ticket_id=ticket_id,
            tweet_id=claim.tweet_id,
            kind=request.kind,
        )

    def _posted_items(self, ticket: Ticket, claim: ReplyClaim, request: ReplyRequest) -> list[dict[str, Any]]:
        """The claim turned `done`, and the `TWEET#` link (role `reply`) that threads answers back."""
        extra = [self.claims.done_item(request.reply_id)]
        if claim.tweet_id:
            link = TweetLink(tweet_id=claim.tweet_id, ticket_id=ticket.id, role="reply", text=request.text)
            extra.append(put_if_absent(self.tickets.table, tweet_link_item(link)))
        return extra

    @staticmethod
    def _posted_data(claim: ReplyClaim, request: ReplyRequest) -> dict[str, Any]:
        data = {
            "reply_id": request.reply_id,
            "tweet_id": claim.tweet_id,
            "in_reply_to_tweet_id": request.in_reply_to_tweet_id,
            "requested_by": request.requested_by,
            "agency_id": request.agency_id,
        }
        return {**data, "note": claim.note} if claim.note else data

    @staticmethod
    def _failed_data(claim: ReplyClaim, request: ReplyRequest) -> dict[str, Any]:
        return {
            "reply_id": request.reply_id,
            "reason": claim.reason,
            "x_status": claim.x_status,
            "requested_by": request.requested_by,
            "agency_id": request.agency_id,
        }

    def _posted_change(self, ticket: Ticket, claim: ReplyClaim, request: ReplyRequest, at: str) -> Change:
        fields: dict[str, object] = {}
        extra = self._posted_items(ticket, claim, request)
        if claim.tweet_id and claim.tweet_id not in ticket.reply_tweet_ids:
            fields["reply_tweet_ids"] = [*ticket.reply_tweet_ids, claim.tweet_id]
        if ticket.pending_reply_id == request.reply_id:
            fields["pending_reply_id"] = None
        if ticket.last_reply_error:
            fields["last_reply_error"] = None
        if not ticket.first_response_at:
            fields["first_response_at"] = at
        status = TicketStatus.RESPONDED if ticket.status in RESPONDS else None
        data = self._posted_data(claim, request)
        return Change(
            type="reply.posted", actor=ACTOR, status=status, fields=fields, data=data, extra_items=extra
        )

    def _ack_posted_change(self, ticket: Ticket, claim: ReplyClaim, request: ReplyRequest, at: str) -> Change:
        """The acknowledgement is out: an event and the tweet link, nothing else on the ticket."""
        extra = self._posted_items(ticket, claim, request)
        data = self._posted_data(claim, request)
        return Change(type="ack.posted", actor=ACTOR, data=data, extra_items=extra)

    def _ack_failed_change(self, ticket: Ticket, claim: ReplyClaim, request: ReplyRequest, at: str) -> Change:
        """X refused the acknowledgement for good: said on the ticket, not as the agency's reply error."""
        extra = [self.claims.done_item(request.reply_id)]
        data = self._failed_data(claim, request)
        return Change(type="ack.failed", actor=ACTOR, data=data, extra_items=extra)

    def _failed_change(self, ticket: Ticket, claim: ReplyClaim, request: ReplyRequest, at: str) -> Change:
        fields: dict[str, object] = {"last_reply_error": claim.reason}
        if ticket.pending_reply_id == request.reply_id:
            fields["pending_reply_id"] = None
        data = self._failed_data(claim, request)
        extra = [self.claims.done_item(request.reply_id)]
        return Change(type="reply.failed", actor=ACTOR, fields=fields, data=data, extra_items=extra)

    def _notify_failure(self, claim: ReplyClaim, request: ReplyRequest, ticket_id: str, at: str) -> None:
        """`reply.failed` to the agency's queue. Its id is stable per reply, so a resend is deduplicable."""
        agency = self.agencies.get(request.agency_id)
        if agency is None or not agency.queue_url:
            return
        detail = ReplyFailed(
            reply_id=request.reply_id,
            agency_id=request.agency_id,
            in_reply_to_tweet_id=request.in_reply_to_tweet_id,
            text=request.text,
            reason=claim.reason or "unknown",
            x_status=claim.x_status,
        )
        ticket = self.tickets.require(ticket_id)
        message = Envelope.build(
            MessageType.REPLY_FAILED, ticket, at, detail=detail.model_dump(), discriminator=request.reply_id
        )
        try:
            send_envelopes(agency.queue_url, [message])
        except QueueUnavailable as exc:
            logger.error("reply.failed not delivered to the agency queue", extra={"error": str(exc)})
            # The ticket still shows the failure (last_reply_error, reply.failed event); retrying here
            # would hold the ticket record hostage to a queue the agency may have misconfigured.
            return


def iso_now(clock: Callable[[], float]) -> str:
    return iso(datetime.fromtimestamp(clock(), UTC))
