"""The ticket outbox: notifications that a ticket change owes, written in the change's own transaction.

| item          | pk            | sk                | notes                                                  |
|---------------|---------------|-------------------|--------------------------------------------------------|
| outbox entry  | TICKET#<id>   | OUTBOX#<seq:08d>  | type, target, detail of the message event <seq> owes   |
| a second one  | TICKET#<id>   | OUTBOX#<seq>#<part> | e.g. `ack`: the acknowledgement the same change owes |

A router that moves a ticket and then dies before its SQS send leaves an entry without `sent_at`; the
redelivered `ticket.received` finds it and sends it. The writer holds a short lease (`claim_until`) while
it sends, so a concurrent duplicate of the message does not send a second copy; a failed send releases
the lease at once, so the retry need not wait for it. The message id is deterministic, so the rare copy
that does go out twice (a crash between the send and `sent_at`) is dropped by the consumer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kemala.models.messages import Envelope, MessageType
from kemala.models.ticket import Ticket
from kemala.store.dynamo import AWS_ERRORS, StorageUnavailable, serialize
from kemala.store.tickets import TicketStore, put_if_absent, ticket_pk

OPERATORS = "operators"


def outbox_sk(seq: int, part: str = "") -> str:
    return f"OUTBOX#{seq:08d}#{part}" if part else f"OUTBOX#{seq:08d}"


@dataclass(frozen=True)
class OutboxEntry:
    """A message a ticket change owes. It holds no citizen text: the envelope is built from the ticket
    when sent, so a deleted tweet's text is purged with the ticket and never lingers here."""

    ticket_id: str
    seq: int  # the audit event whose change owes this message
    target: str  # `agency:<id>` or `operators`
    queue_url: str
    message_type: MessageType
    detail: dict[str, Any] = field(default_factory=dict)
    part: str = ""  # a second message owed by the same change (e.g. `ack`): its own item after the first

    @property
    def agency_id(self) -> str | None:
        return self.target.removeprefix("agency:") if self.target.startswith("agency:") else None

    def envelope(self, ticket: Ticket, at: str) -> Envelope:
        """The message, with the same id however often it is built (keyed on the change's seq)."""
        discriminator = f"{self.seq}#{self.part}" if self.part else str(self.seq)
        return Envelope.build(self.message_type, ticket, at, detail=self.detail, discriminator=discriminator)

    def item(self, claim_until: int) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": ticket_pk(self.ticket_id),
            "sk": outbox_sk(self.seq, self.part),
            "item_type": "outbox",
            "ticket_id": self.ticket_id,
            "seq": self.seq,
            "target": self.target,
            "queue_url": self.queue_url,
            "message_type": self.message_type.value,
            "detail": json.dumps(self.detail, ensure_ascii=False, sort_keys=True),
            "claim_until": claim_until,
        }
        return {**item, "part": self.part} if self.part else item

    @classmethod
    def of_item(cls, item: dict[str, Any]) -> OutboxEntry:
        return cls(
            ticket_id=item["ticket_id"],
            seq=int(item["seq"]),
            target=item["target"],
            queue_url=item["queue_url"],
            message_type=MessageType(item["message_type"]),
            detail=json.loads(item.get("detail") or "{}"),
            part=item.get("part", ""),
        )


class Outbox(TicketStore):
    """Reads and updates of outbox entries (their creation rides in the ticket change's transaction)."""

    def put_entry(self, entry: OutboxEntry, claim_until: int) -> dict[str, Any]:
        """The TransactWriteItems entry creating `entry`, already claimed by its writer."""
        return put_if_absent(self.table, entry.item(claim_until))

    def close_entry(self, entry: OutboxEntry, at: str, outcome: str) -> dict[str, Any]:
        """The TransactWriteItems entry closing `entry` unsent (`superseded`), with the reason."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": self._key(entry),
                "UpdateExpression": "SET closed_at = :at, outcome = :o REMOVE claim_until",
                "ExpressionAttributeValues": {":at": {"S": at}, ":o": {"S": outcome}},
            }
        }

    def pending(self, ticket_id: str) -> list[OutboxEntry]:
        """Entries neither sent nor closed, oldest first (a ticket has one or two)."""
        items = self._query_prefix(ticket_pk(ticket_id), "OUTBOX#")
        return [OutboxEntry.of_item(i) for i in items if "sent_at" not in i and "closed_at" not in i]

    def claim(self, entry: OutboxEntry, now: int, lease_seconds: int) -> bool:
        """Take the right to send `entry`: only if unsent, open, and no live lease is held."""
        claimed = self.conditional_update(
            "of the outbox",
            Key=self._key(entry),
            UpdateExpression="SET claim_until = :until",
            ConditionExpression=(
                "attribute_exists(pk) AND attribute_not_exists(sent_at)"
                " AND attribute_not_exists(closed_at)"
                " AND (attribute_not_exists(claim_until) OR claim_until < :now)"
            ),
            ExpressionAttributeValues=serialize({":until": now + lease_seconds, ":now": now}),
        )
        return claimed is not None

    def close(self, entry: OutboxEntry, at: str, outcome: str) -> None:
        """Close `entry` unsent outside a transaction (the ticket moved on before it could be sent)."""
        update = self.close_entry(entry, at, outcome)["Update"]
        self._update(entry, update["UpdateExpression"], update["ExpressionAttributeValues"])

    def mark_sent(self, entry: OutboxEntry, at: str) -> None:
        self._update(entry, "SET sent_at = :at REMOVE claim_until", {":at": {"S": at}})

    def release(self, entry: OutboxEntry) -> None:
        """Best effort after a failed send: the retry may claim at once."""
        try:
            self._update(entry, "REMOVE claim_until", None)
        except StorageUnavailable:
            return

    def _update(self, entry: OutboxEntry, expression: str, values: dict[str, Any] | None) -> None:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(entry),
            "UpdateExpression": expression,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self.client.update_item(**kwargs)
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB UpdateItem of the outbox failed: {exc}") from exc

    @staticmethod
    def _key(entry: OutboxEntry) -> dict[str, Any]:
        return {"pk": {"S": ticket_pk(entry.ticket_id)}, "sk": {"S": outbox_sk(entry.seq, entry.part)}}
