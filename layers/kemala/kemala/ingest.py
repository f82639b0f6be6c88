"""Webhook ingestion logic: a verified, parsed delivery becomes tickets, follow-ups and withdrawals.

Exactly-once routing messages across redeliveries: each TWEET# link we create (a ticket's origin or a
follow-up) owns one outgoing message and records on itself whether it was enqueued. The creator holds a
short lease while it sends; a redelivery that finds a link never enqueued and no live lease claims it and
sends again. So a delivery whose queue send failed (answered 503, retried by X) ends with exactly one
ticket and one message, and a concurrent duplicate delivery never sends a second one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from kemala.ids import iso, new_ticket_id, parse_iso, reference_code, utc_now
from kemala.models.messages import Envelope, MessageType
from kemala.models.ticket import Ticket, TicketStatus
from kemala.models.x_payloads import Delivery, IncomingDeletion, IncomingPost
from kemala.queues import QueueUnavailable, send_envelopes
from kemala.store.directory import Directory
from kemala.store.tickets import (
    Change,
    DuplicateLink,
    TicketStore,
    TweetLink,
    put_if_absent,
    text_digest,
    tweet_link_item,
    update_with_retry,
)

ROUTING_LEASE_SECONDS = 20


class IngestOutcome(BaseModel):
    """What the webhook did with one delivery; returned to X (and logged) as the 200 body."""

    created: int = 0
    duplicates: int = 0
    followups: int = 0
    withdrawn: int = 0
    ignored: int = 0
    enqueued: int = 0


@dataclass
class IngestContext:
    store: TicketStore
    directory: Directory
    routing_queue_url: str
    hashtags: frozenset[str]  # casefolded, without '#'
    reopen_window_days: int = 14
    now: Callable[[], str] = lambda: iso(utc_now())


def has_complaint_hashtag(post: IncomingPost, hashtags: frozenset[str]) -> bool:
    return any(tag.casefold() in hashtags for tag in post.hashtags)


def _new_ticket(post: IncomingPost, at: str) -> Ticket:
    ticket_id = new_ticket_id()
    return Ticket(
        id=ticket_id,
        ref=reference_code(ticket_id),
        tweet_id=post.tweet_id,
        author_id=post.author_id,
        author_handle=post.author_handle,
        text=post.text,
        text_sha256=text_digest(post.text),
        lang=post.lang,
        hashtags=list(post.hashtags),
        place=post.place,
        coordinates=list(post.coordinates) if post.coordinates else None,
        created_at=at,
        updated_at=at,
    )


class _Ingestion:
    """One delivery's worth of work; collects the messages to send at the end, in one batch."""

    def __init__(self, ctx: IngestContext) -> None:
        self.ctx = ctx
        self.outcome = IngestOutcome()
        self.outbox: list[tuple[str, Envelope]] = []  # (tweet id of the owning link, message)

    def run(self, delivery: Delivery) -> IngestOutcome:
        self.outcome.ignored += delivery.ignored
        own_accounts = self.ctx.directory.own_account_ids() if delivery.posts else frozenset()
        for post in delivery.posts:
            self._post(post, own_accounts)
        for deletion in delivery.deletions:
            self._deletion(deletion)
        self._flush()
        return self.outcome

    # --- posts ---------------------------------------------------------------------------------------

    def _post(self, post: IncomingPost, own_accounts: frozenset[str]) -> None:
        if post.is_retweet or post.author_id == post.subscribed_user_id or post.author_id in own_accounts:
            self.outcome.ignored += 1
            return
        parent = self.ctx.store.tweet_link(post.in_reply_to) if post.in_reply_to else None
        if parent is not None:
            self._followup(post, parent)
        elif has_complaint_hashtag(post, self.ctx.hashtags):
            self._create(post)
        else:
            self.outcome.ignored += 1

    def _create(self, post: IncomingPost) -> None:
        at = self.ctx.now()
        ticket = _new_ticket(post, at)
        lease = {"routing_claim_until": int(time.time()) + ROUTING_LEASE_SECONDS}
        data = {"tweet_id": post.tweet_id, "source": "x"}
        if self.ctx.store.create(ticket, actor=f"citizen:{post.author_id}", data=data, link_extra=lease):
            self.outcome.created += 1
            self.outbox.append((post.tweet_id, Envelope.build(MessageType.RECEIVED, ticket, at)))
        else:
            self.outcome.duplicates += 1
            self._resend_if_unsent(post.tweet_id)

    def _followup(self, post: IncomingPost, parent: TweetLink) -> None:
        at = self.ctx.now()
        link = TweetLink(tweet_id=post.tweet_id, ticket_id=parent.ticket_id, role="followup", text=post.text)
        lease = {"routing_claim_until": int(time.time()) + ROUTING_LEASE_SECONDS}
        link_put = put_if_absent(self.ctx.store.table, tweet_link_item(link, **lease))

        def build(ticket: Ticket) -> Change:
            reopen = ticket.status is TicketStatus.RESOLVED and self._within_reopen_window(ticket, at)
            return Change(
                type="ticket.followup",
                actor=f"citizen:{post.author_id}",
                status=TicketStatus.ASSIGNED if reopen else None,
                data={"tweet_id": post.tweet_id, "text_sha256": text_digest(post.text), "reopened": reopen},
                extra_items=[link_put],
            )

        try:
            ticket = update_with_retry(self.ctx.store, parent.ticket_id, build, self.ctx.now)
        except DuplicateLink:
            self.outcome.duplicates += 1
            self._resend_if_unsent(post.tweet_id)
            return
        assert ticket is not None
        self.outcome.followups += 1
        self.outbox.append((post.tweet_id, self._followup_message(ticket, post.tweet_id, post.text, at)))

    def _within_reopen_window(self, ticket: Ticket, at: str) -> bool:
        if not ticket.resolved_at:
            return True
        elapsed = parse_iso(at) - parse_iso(ticket.resolved_at)
        return elapsed.days < self.ctx.reopen_window_days

    @staticmethod
    def _followup_message(ticket: Ticket, tweet_id: str, text: str | None, at: str) -> Envelope:
        detail = {"followup_tweet_id": tweet_id, "followup_text": text}
        return Envelope.build(MessageType.FOLLOWUP, ticket, at, detail=detail, discriminator=tweet_id)

    def _resend_if_unsent(self, tweet_id: str) -> None:
        """A duplicate delivery: send the link's message again only if it never went out."""
        link = self.ctx.store.tweet_link(tweet_id)
        if link is None or link.routing_enqueued_at:
            return
        if not self.ctx.store.claim_routing([tweet_id], int(time.time()), ROUTING_LEASE_SECONDS):
            return  # another delivery of the same tweet is sending it right now
        ticket = self.ctx.store.require(link.ticket_id)
        at = self.ctx.now()
        if link.role == "origin":
            if ticket.status is not TicketStatus.RECEIVED:  # already acted on: nothing to route
                self.ctx.store.mark_routing_enqueued([tweet_id], at)
                return
            self.outbox.append((tweet_id, Envelope.build(MessageType.RECEIVED, ticket, at)))
        else:
            self.outbox.append((tweet_id, self._followup_message(ticket, tweet_id, link.text, at)))

    # --- deletions ------------------------------------------------------------------------------------

    def _deletion(self, deletion: IncomingDeletion) -> None:
        link = self.ctx.store.tweet_link(deletion.tweet_id)
        if link is None or link.role == "reply":
            self.outcome.ignored += 1
            return
        actor = f"citizen:{deletion.author_id or 'unknown'}"
        if link.role == "followup":
            if link.text is not None:
                self.ctx.store.purge_tweet_text(deletion.tweet_id)

            def build_followup(ticket: Ticket) -> Change | None:
                return Change(type="followup.deleted", actor=actor, data={"tweet_id": deletion.tweet_id})

            if link.text is not None:
                update_with_retry(self.ctx.store, link.ticket_id, build_followup, self.ctx.now)
                self.outcome.withdrawn += 1
            else:
                self.outcome.duplicates += 1
            return

        def build(ticket: Ticket) -> Change | None:
            if ticket.status is TicketStatus.WITHDRAWN:
                return None
            return Change(
                type="ticket.withdrawn",
                actor=actor,
                status=TicketStatus.WITHDRAWN,
                data={"tweet_id": deletion.tweet_id, "reason": "tweet deleted by its author"},
                private_fields={"text": None},
            )

        if update_with_retry(self.ctx.store, link.ticket_id, build, self.ctx.now) is None:
            self.outcome.duplicates += 1
        else:
            self.outcome.withdrawn += 1

    # --- outbox ---------------------------------------------------------------------------------------

    def _flush(self) -> None:
        if not self.outbox:
            return
        envelopes = [env for _, env in self.outbox]
        try:
            send_envelopes(self.ctx.routing_queue_url, envelopes)
        except QueueUnavailable as exc:
            failed = set(exc.failed_ids)
            sent = [tweet for tweet, env in self.outbox if env.id not in failed]
            if sent:
                self.ctx.store.mark_routing_enqueued(sent, self.ctx.now())
            self.ctx.store.release_routing_claims([tweet for tweet, env in self.outbox if env.id in failed])
            raise
        self.ctx.store.mark_routing_enqueued([tweet for tweet, _ in self.outbox], self.ctx.now())
        self.outcome.enqueued += len(envelopes)


def ingest_delivery(delivery: Delivery, ctx: IngestContext) -> IngestOutcome:
    """Store what `delivery` brings and enqueue routing; raises StorageUnavailable if AWS is down."""
    return _Ingestion(ctx).run(delivery)
