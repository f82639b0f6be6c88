"""The acknowledgement: when a ticket is first assigned, the province's account tells the citizen the
ticket's reference code and which agency has it (issue 4, optional; off unless ACK_AGENCY_ID is set).

The router (auto-assignment) and the API (operator delegation) both build it here, as a `reply.requested`
job of kind `ack` for OutboundQueue, posted by the replier on the same exactly-once path as any reply.
Its `reply_id` is derived from the ticket id, so every attempt for one ticket names the same job and the
replier's claim posts it at most once. A ticket is acknowledged once: `Ticket.ack_reply_id` records it,
set in the same transaction as the assignment. See docs/replies.md, "The acknowledgement".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from aws_lambda_powertools import Logger

from kemala.models.replies import ReplyRequest
from kemala.models.ticket import Ticket
from kemala.routing.types import Agency

logger = Logger(child=True)

ACK_AGENCY_PATTERN = r"^(|[a-z0-9][a-z0-9-]{1,62})$"  # empty = acknowledgements off
_NAMESPACE = uuid.UUID("0b7e5d2a-4c1f-5e8a-9d36-7a1c2b3e4f50")
_TEXTS = (
    "Terima kasih, aduan Anda tercatat dengan kode {ref} dan diteruskan ke {agency}. "
    "Pantau tindak lanjutnya di sini.",
    "Terima kasih, aduan Anda tercatat dengan kode {ref} dan diteruskan ke {agency}.",
)
ELLIPSIS = "…"


def ack_reply_id(ticket_id: str) -> str:
    """The acknowledgement's reply id: the same for every attempt on one ticket (the replier's claim key)."""
    return str(uuid.uuid5(_NAMESPACE, f"{ticket_id}|ack"))


def ack_text(ref: str, agency: Agency) -> str:
    """The Indonesian text naming the code and the agency, within X's 280 weighted characters.

    Tried in order: the agency's full name, then its X handle (a mention), then the shorter sentence with
    the name cut to fit, then with the agency id (always valid). Agency names are under 150 characters, so
    in practice the first one is used."""
    from kemala.x.reply_text import InvalidReplyText, validate_reply_text  # twitter-text: lazy (cold start)

    candidates = [_TEXTS[0].format(ref=ref, agency=agency.name)]
    if agency.x_handle:
        candidates.append(_TEXTS[0].format(ref=ref, agency=f"@{agency.x_handle}"))
    candidates += [
        _TEXTS[1].format(ref=ref, agency=agency.name[:cut].rstrip() + ELLIPSIS)
        for cut in range(len(agency.name) - 10, 0, -10)
    ]
    for candidate in candidates:
        try:
            return validate_reply_text(candidate).text
        except InvalidReplyText:
            continue
    return _TEXTS[1].format(ref=ref, agency=agency.id)  # ids are [a-z0-9-], at most 63 characters


def speaker(get_agency: Callable[[str], Agency | None], ack_agency_id: str) -> Agency | None:
    """The acknowledgement account if acknowledgements are on and it can post (registered, active, with
    X credentials), else None; a misconfigured one is logged as an error (visible, never blocking)."""
    if not ack_agency_id:
        return None
    account = get_agency(ack_agency_id)
    if account is not None and account.active and account.x_secret_name:
        return account
    problem = "is not registered" if account is None else "is inactive or has no x_secret_name"
    logger.error("acknowledgement skipped", extra={"ack_agency_id": ack_agency_id, "problem": problem})
    return None


def acknowledgement(
    ticket: Ticket, assigned: Agency, account: Agency | None, requested_by: str
) -> ReplyRequest | None:
    """The acknowledgement owed now that `ticket` is assigned to `assigned`, or None: already given (the
    ticket was assigned before; reassignments and re-delegations are not announced) or no usable account."""
    if ticket.ack_reply_id is not None or account is None:
        return None
    return ReplyRequest(
        reply_id=ack_reply_id(ticket.id),
        text=ack_text(ticket.ref, assigned),
        in_reply_to_tweet_id=ticket.tweet_id,
        agency_id=account.id,
        requested_by=requested_by,
        kind="ack",
    )
