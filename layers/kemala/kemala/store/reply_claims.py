"""IdempotencyTable data access for reply claims: the record that keeps one reply_id from reaching X twice.

One item per reply (`id = reply#<reply_id>`, TTL `expiration`). Its `state` moves:

    (absent) ──claim──► posting ──201 / 403 duplicate──► posted ──ticket recorded──► done
                  ▲        │ ──other 4xx──────────────► failed ──ticket recorded──► done
                  │        │ ──429 / 5xx / network────► retry
                  └────────┴── claim again: from `retry`, or from `posting` whose lease has lapsed

`posting` carries a lease (`lease_until`, Unix seconds) and the owner's random `token`. The lease outlasts
the invocation that holds it, so a lapsed lease means its holder is dead: maybe before X got the request,
maybe after X posted it. The next claimant sees that (`in_doubt`) and checks X before sending again.
Writes of an outcome are conditional on the token, so a holder whose lease was taken over cannot overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kemala.store.dynamo import (
    AWS_ERRORS,
    DynamoTable,
    StorageUnavailable,
    deserialize,
    serialize_value,
)

CLAIM_TTL_SECONDS = 30 * 24 * 3600  # longer than the job can live in SQS (14 days), then auto-deleted


class ClaimState(StrEnum):
    POSTING = "posting"
    RETRY = "retry"
    POSTED = "posted"
    FAILED = "failed"
    DONE = "done"


class LostClaim(Exception):
    """Our lease was taken over: another invocation now owns this reply. Do not record anything."""


@dataclass(frozen=True)
class ReplyClaim:
    reply_id: str
    state: ClaimState
    token: str = ""
    lease_until: int = 0
    in_doubt: bool = False  # an earlier attempt may have posted: check X before sending again
    tweet_id: str | None = None
    note: str | None = None
    reason: str | None = None
    x_status: int | None = None
    transient_failures: int = 0
    rate_limited: int = 0

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ReplyClaim:
        return cls(
            reply_id=str(item["reply_id"]),
            state=ClaimState(item["state"]),
            token=str(item.get("token", "")),
            lease_until=int(item.get("lease_until", 0)),
            in_doubt=bool(item.get("in_doubt", False)),
            tweet_id=item.get("tweet_id"),
            note=item.get("note"),
            reason=item.get("reason"),
            x_status=int(item["x_status"]) if item.get("x_status") is not None else None,
            transient_failures=int(item.get("transient_failures", 0)),
            rate_limited=int(item.get("rate_limited", 0)),
        )

    def stale(self, now: float) -> bool:
        """A `posting` claim whose holder must be dead."""
        return self.state is ClaimState.POSTING and self.lease_until < now


def claim_key(reply_id: str) -> dict[str, Any]:
    return {"id": {"S": f"reply#{reply_id}"}}


def _values(**values: Any) -> dict[str, Any]:
    return {f":{k}": serialize_value(v) for k, v in values.items()}


class ReplyClaims(DynamoTable):
    def get(self, reply_id: str) -> ReplyClaim | None:
        try:
            resp = self.client.get_item(TableName=self.table, Key=claim_key(reply_id), ConsistentRead=True)
        except AWS_ERRORS as exc:
            raise StorageUnavailable(f"DynamoDB GetItem on reply claims failed: {exc}") from exc
        return ReplyClaim.from_item(deserialize(resp["Item"])) if "Item" in resp else None

    def claim(self, reply_id: str, token: str, now: int, lease_until: int) -> ReplyClaim | None:
        """Take the right to send this reply now. Returns the claim as it was before (state `retry` or a
        stale `posting`; a fresh reply gives a `retry` with no history), or None if it is not ours to take
        (live lease elsewhere, or the outcome is already known)."""
        resp = self.conditional_update(
            "on reply claims",
            Key=claim_key(reply_id),
            UpdateExpression=(
                "SET #s = :posting, reply_id = :rid, #t = :token, lease_until = :until, "
                "expiration = if_not_exists(expiration, :exp)"
            ),
            ConditionExpression=(
                "attribute_not_exists(id) OR #s = :retry OR (#s = :posting AND lease_until < :now)"
            ),
            ExpressionAttributeNames={"#s": "state", "#t": "token"},
            ExpressionAttributeValues=_values(
                posting=ClaimState.POSTING.value,
                retry=ClaimState.RETRY.value,
                rid=reply_id,
                token=token,
                until=lease_until,
                now=now,
                exp=now + CLAIM_TTL_SECONDS,
            ),
            ReturnValues="ALL_OLD",
        )
        if resp is None:
            return None
        old = resp.get("Attributes")
        if not old:
            return ReplyClaim(reply_id=reply_id, state=ClaimState.RETRY)
        return ReplyClaim.from_item(deserialize(old))

    def release(self, reply_id: str, token: str, in_doubt: bool, counter: str) -> ReplyClaim:
        """Give the claim back for a later attempt (429, 5xx, network), counting why in `counter`
        (`transient_failures` or `rate_limited`)."""
        return self._update_owned(
            reply_id,
            token,
            f"SET #s = :retry, in_doubt = :doubt REMOVE #t, lease_until ADD {counter} :one",
            _values(retry=ClaimState.RETRY.value, doubt=in_doubt, one=1),
        )

    def finish(
        self,
        reply_id: str,
        token: str,
        state: ClaimState,
        *,
        tweet_id: str | None = None,
        note: str | None = None,
        reason: str | None = None,
        x_status: int | None = None,
    ) -> ReplyClaim:
        """Record X's final answer (`posted` or `failed`): from now on nobody sends this reply again."""
        assert state in (ClaimState.POSTED, ClaimState.FAILED)
        fields = {"tweet_id": tweet_id, "note": note, "reason": reason, "x_status": x_status}
        present = {k: v for k, v in fields.items() if v is not None}
        sets = ", ".join(["#s = :state", "in_doubt = :doubt", *(f"{k} = :{k}" for k in present)])
        return self._update_owned(
            reply_id,
            token,
            f"SET {sets} REMOVE #t, lease_until",
            _values(state=state.value, doubt=False, **present),
        )

    def _update_owned(self, reply_id: str, token: str, expression: str, values: dict[str, Any]) -> ReplyClaim:
        resp = self.conditional_update(
            "on reply claims",
            Key=claim_key(reply_id),
            UpdateExpression=expression,
            ConditionExpression="#s = :posting AND #t = :owner",
            ExpressionAttributeNames={"#s": "state", "#t": "token"},
            ExpressionAttributeValues={
                **values,
                **_values(posting=ClaimState.POSTING.value, owner=token),
            },
            ReturnValues="ALL_NEW",
        )
        if resp is None:
            raise LostClaim(f"reply {reply_id}: the claim was taken over")
        return ReplyClaim.from_item(deserialize(resp["Attributes"]))

    def done_item(self, reply_id: str) -> dict[str, Any]:
        """A TransactWriteItems entry marking the outcome recorded on the ticket; it fails (cancelling the
        ticket write) if that was done already, which makes recording idempotent."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": claim_key(reply_id),
                "UpdateExpression": "SET #s = :done",
                "ConditionExpression": "#s IN (:posted, :failed)",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": _values(
                    done=ClaimState.DONE.value,
                    posted=ClaimState.POSTED.value,
                    failed=ClaimState.FAILED.value,
                ),
            }
        }
