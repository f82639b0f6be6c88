"""TicketsTable data access: tickets, their hash-chained audit events, and TWEET# links.

Item layout (single table, `pk`/`sk`):

| item            | pk                 | sk              | notes                                          |
|-----------------|--------------------|-----------------|------------------------------------------------|
| ticket          | TICKET#<id>        | TICKET          | gsi1 = agency inbox, gsi2 = status board / SLA |
| audit event     | TICKET#<id>        | EVENT#<seq:08d> | append-only, one hash-chain link               |
| tweet link      | TWEET#<tweet id>   | TWEET           | dedupe, follow-ups, our replies; routing outbox|

Every change to a ticket is one TransactWriteItems: the ticket put under `version = expected`, the next
event put under `attribute_not_exists`, plus any extra items. So a ticket never exists without its events,
and two writers racing on one version cannot both win.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from kemala.audit_chain import GENESIS_HASH, event_hash
from kemala.lifecycle import check_transition
from kemala.models.ticket import AuditEvent, Ticket, TicketStatus
from kemala.store.dynamo import (
    AWS_ERRORS,
    DynamoTable,
    StorageUnavailable,
    cancellation_codes,
    deserialize,
    error_code,
    serialize,
    serialize_value,
)

TICKET_SK = "TICKET"
TWEET_SK = "TWEET"


def ticket_pk(ticket_id: str) -> str:
    return f"TICKET#{ticket_id}"


def tweet_pk(tweet_id: str) -> str:
    return f"TWEET#{tweet_id}"


def event_sk(seq: int) -> str:
    return f"EVENT#{seq:08d}"


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class StaleTicket(Exception):
    """Someone else changed the ticket first (optimistic lock lost). HTTP 409; reload and retry."""


class TicketNotFound(Exception):
    pass


@dataclass(frozen=True)
class TweetLink:
    """What a tweet id means to us: a ticket's origin, a citizen follow-up, or our own reply."""

    tweet_id: str
    ticket_id: str
    role: str  # origin | followup | reply
    text: str | None = None
    routing_enqueued_at: str | None = None
    routing_claim_until: int = 0


@dataclass
class Change:
    """One audited change: an event type, who did it, and what it does to the ticket.

    `status` is the new status (checked against the lifecycle table), `fields` the other ticket fields
    it sets (recorded in the event's `set`, so the state can be replayed), `data` event-only context, and
    `extra_items` further TransactWriteItems entries that must commit with it (e.g. a TWEET# link).
    """

    type: str
    actor: str
    status: TicketStatus | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    extra_items: list[dict[str, Any]] = field(default_factory=list)
    private_fields: dict[str, Any] = field(default_factory=dict)
    """Ticket fields changed but not replayable from events (e.g. purged text); not put in `set`."""


def _index_keys(ticket: Ticket) -> dict[str, str]:
    keys = {
        "gsi2pk": f"STATUS#{ticket.status.value}",
        "gsi2sk": f"{ticket.due_at or ticket.created_at}#{ticket.id}",
    }
    if ticket.agency_id:
        keys["gsi1pk"] = f"AGENCY#{ticket.agency_id}"
        keys["gsi1sk"] = f"{ticket.status.value}#{ticket.due_at or ticket.created_at}#{ticket.id}"
    return keys


def ticket_item(ticket: Ticket) -> dict[str, Any]:
    item = ticket.model_dump(mode="json", exclude_none=True)
    item.update(pk=ticket_pk(ticket.id), sk=TICKET_SK, item_type="ticket", **_index_keys(ticket))
    return item


def event_item(event: AuditEvent) -> dict[str, Any]:
    item = event.model_dump(mode="json")
    item.update(pk=ticket_pk(event.ticket_id), sk=event_sk(event.seq), item_type="event")
    return item


def tweet_link_item(link: TweetLink, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": tweet_pk(link.tweet_id),
        "sk": TWEET_SK,
        "item_type": "tweet",
        "tweet_id": link.tweet_id,
        "ticket_id": link.ticket_id,
        "role": link.role,
        "text": link.text,
    }
    item.update(extra)
    return item


def put_if_absent(table: str, item: dict[str, Any]) -> dict[str, Any]:
    """A TransactWriteItems entry that puts `item` only if its key is new."""
    return {
        "Put": {
            "TableName": table,
            "Item": serialize(item),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def chain_event(ticket: Ticket, seq: int, change: Change, at: str) -> AuditEvent:
    prev = ticket.last_hash if seq > 1 else GENESIS_HASH
    set_fields = dict(change.fields)
    if change.status is not None:
        set_fields["status"] = change.status.value
    body = {
        "ticket_id": ticket.id,
        "seq": seq,
        "type": change.type,
        "actor": change.actor,
        "at": at,
        "set": set_fields,
        "data": change.data,
    }
    return AuditEvent(**body, prev_hash=prev, hash=event_hash(prev, body))


class TicketStore(DynamoTable):
    """Reads and audited writes of tickets. All DynamoDB specifics stay in here."""

    # --- reads -------------------------------------------------------------------------------------

    def get(self, ticket_id: str) -> Ticket | None:
        item = self._get(ticket_pk(ticket_id), TICKET_SK)
        return Ticket.model_validate(item) if item else None

    def require(self, ticket_id: str) -> Ticket:
        ticket = self.get(ticket_id)
        if ticket is None:
            raise TicketNotFound(ticket_id)
        return ticket

    def tweet_link(self, tweet_id: str) -> TweetLink | None:
        item = self._get(tweet_pk(tweet_id), TWEET_SK)
        if not item:
            return None
        return TweetLink(
            tweet_id=item["tweet_id"],
            ticket_id=item["ticket_id"],
            role=item["role"],
            text=item.get("text"),
            routing_enqueued_at=item.get("routing_enqueued_at"),
            routing_claim_until=int(item.get("routing_claim_until", 0)),
        )

    def events(self, ticket_id: str) -> list[AuditEvent]:
        items = self._query_prefix(ticket_pk(ticket_id), "EVENT#")
        return [AuditEvent.model_validate(i) for i in items]

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            resp = self.client.get_item(
                TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
            )
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB GetItem failed: {exc}") from exc
        return deserialize(resp["Item"]) if "Item" in resp else None

    def _query_prefix(self, pk: str, sk_prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":p": {"S": sk_prefix}},
            "ConsistentRead": True,
        }
        try:
            while True:
                resp = self.client.query(**kwargs)
                items.extend(deserialize(i) for i in resp.get("Items", []))
                if "LastEvaluatedKey" not in resp:
                    return items
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB Query failed: {exc}") from exc

    # --- writes ------------------------------------------------------------------------------------

    def create(self, ticket: Ticket, actor: str, data: dict[str, Any], link_extra: dict[str, Any]) -> bool:
        """Create the ticket, its first event and its origin TWEET# link in one transaction.

        Returns False, writing nothing, when the tweet is already linked (a duplicate delivery).
        """
        fields = {
            k: v
            for k, v in ticket.model_dump(mode="json", exclude_none=True).items()
            if k
            not in {"text", "version", "last_hash", "updated_at", "status", "suggestions", "reply_tweet_ids"}
        }
        change = Change(type="ticket.created", actor=actor, status=ticket.status, fields=fields, data=data)
        event = chain_event(ticket, 1, change, ticket.created_at)
        stored = ticket.model_copy(update={"version": 1, "last_hash": event.hash})
        link = TweetLink(tweet_id=ticket.tweet_id, ticket_id=ticket.id, role="origin")
        items = [
            put_if_absent(self.table, tweet_link_item(link, **link_extra)),
            put_if_absent(self.table, ticket_item(stored)),
            put_if_absent(self.table, event_item(event)),
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if (
                error_code(exc) == "TransactionCanceledException"
                and "ConditionalCheckFailed" in (cancellation_codes(exc)[:1])
            ):
                return False
            raise StorageUnavailable(f"DynamoDB TransactWriteItems failed: {exc}") from exc
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB TransactWriteItems failed: {exc}") from exc
        return True

    def apply(self, ticket: Ticket, change: Change, at: str) -> Ticket:
        """Write `change` on top of `ticket` (as read) with its audit event, or raise StaleTicket.

        Raises `TransitionNotAllowed` before writing if the status change is not in the lifecycle table.
        """
        if change.status is not None:
            check_transition(ticket.id, ticket.status, change.status)
        seq = ticket.version + 1
        event = chain_event(ticket, seq, change, at)
        update: dict[str, Any] = {**change.fields, **change.private_fields}
        if change.status is not None:
            update["status"] = change.status
        # validate the merged fields (a model_copy would keep JSON dicts where models belong)
        updated = Ticket.model_validate(
            {**ticket.model_dump(), **update, "version": seq, "last_hash": event.hash, "updated_at": at}
        )
        put = {
            "Put": {
                "TableName": self.table,
                "Item": serialize(ticket_item(updated)),
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": serialize_value(ticket.version)},
            }
        }
        items = [put, put_if_absent(self.table, event_item(event)), *change.extra_items]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if error_code(exc) == "TransactionCanceledException" and "ConditionalCheckFailed" in codes[:2]:
                raise StaleTicket(
                    f"ticket {ticket.id} changed since version {ticket.version}; reload and retry"
                ) from None
            if error_code(exc) == "TransactionCanceledException" and "ConditionalCheckFailed" in codes:
                raise DuplicateLink(f"a linked item for ticket {ticket.id} already exists") from None
            raise StorageUnavailable(f"DynamoDB TransactWriteItems failed: {exc}") from exc
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB TransactWriteItems failed: {exc}") from exc
        return updated

    # --- routing outbox on the origin TWEET# link ---------------------------------------------------

    def claim_routing(self, tweet_ids: Iterable[str], now: int, lease_seconds: int) -> list[str]:
        """Take the right to (re)send ticket.received for each tweet; returns those claimed.

        A claim succeeds only if the message was never enqueued and no live claim exists, so concurrent
        duplicate deliveries cannot both send.
        """
        return [
            tweet_id
            for tweet_id in tweet_ids
            if self.conditional_update(
                "of a routing claim",
                Key={"pk": {"S": tweet_pk(tweet_id)}, "sk": {"S": TWEET_SK}},
                UpdateExpression="SET routing_claim_until = :until",
                ConditionExpression=(
                    "attribute_exists(pk) AND attribute_not_exists(routing_enqueued_at) "
                    "AND (attribute_not_exists(routing_claim_until) OR routing_claim_until < :now)"
                ),
                ExpressionAttributeValues=serialize({":until": now + lease_seconds, ":now": now}),
            )
            is not None
        ]

    def mark_routing_enqueued(self, tweet_ids: list[str], at: str) -> None:
        """Record that ticket.received went out, in one transaction per 100 links."""
        for start in range(0, len(tweet_ids), 100):
            items = [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": tweet_pk(t)}, "sk": {"S": TWEET_SK}},
                        "UpdateExpression": "SET routing_enqueued_at = :at REMOVE routing_claim_until",
                        "ExpressionAttributeValues": {":at": {"S": at}},
                    }
                }
                for t in tweet_ids[start : start + 100]
            ]
            try:
                if len(items) == 1:
                    self.client.update_item(**items[0]["Update"])
                else:
                    self.client.transact_write_items(TransactItems=items)
            except AWS_ERRORS as exc:
                raise StorageUnavailable(f"DynamoDB write of routing marks failed: {exc}") from exc

    def release_routing_claims(self, tweet_ids: list[str]) -> None:
        """Best effort: let the next redelivery send at once instead of waiting for the lease to lapse."""
        for tweet_id in tweet_ids:
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key={"pk": {"S": tweet_pk(tweet_id)}, "sk": {"S": TWEET_SK}},
                    UpdateExpression="REMOVE routing_claim_until",
                )
            except AWS_ERRORS:
                return

    def purge_tweet_text(self, tweet_id: str) -> None:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": tweet_pk(tweet_id)}, "sk": {"S": TWEET_SK}},
                UpdateExpression="REMOVE #t",
                ExpressionAttributeNames={"#t": "text"},
            )
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB UpdateItem failed: {exc}") from exc


class DuplicateLink(Exception):
    """An extra item of the transaction (e.g. a TWEET# link) already existed: the change was done before."""


def update_with_retry(
    store: TicketStore,
    ticket_id: str,
    build: Any,
    at: Any,
    attempts: int = 3,
    seen: Ticket | None = None,
) -> Ticket | None:
    """Read the ticket, let `build(ticket) -> Change | None` decide, and apply; on a lost optimistic lock,
    re-read and decide again. Returns the updated ticket, or None when `build` decided there is nothing
    to do. `at` is a zero-argument callable giving the event time. `seen`, a copy the caller has just
    read, is used for the first attempt instead of another GetItem."""
    for attempt in range(attempts):
        ticket = seen if attempt == 0 and seen is not None else store.require(ticket_id)
        change = build(ticket)
        if change is None:
            return None
        try:
            return store.apply(ticket, change, at())
        except StaleTicket:
            if attempt == attempts - 1:
                raise
    return None
