"""Who is calling, and what they may see and do.

The authorizer puts `{"role", "agency_id"?, "token_id"}` in the request context. Rules:
- operator: every ticket, every action except an agency's own reject;
- agency: only tickets whose `agency_id` is its own; anything else is *not found* (404), never 403, so an
  agency cannot even learn that another agency's ticket exists;
- auditor: reads everything, changes nothing (403 on every action).
Role checks come before any ticket is read, so a 403 says nothing about the ticket either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from kemala.api.errors import Forbidden, NotFound, Unauthenticated
from kemala.models.ticket import Ticket
from kemala.store.tokens import Role


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)  # built by the first request

    role: Role
    agency_id: str | None = None
    token_id: str | None = None

    @property
    def actor(self) -> str:
        """How audit events name this caller: `operator`, `auditor` or `agency:<id>`."""
        return f"agency:{self.agency_id}" if self.role is Role.AGENCY else self.role.value

    def can_see(self, ticket: Ticket) -> bool:
        if self.role is Role.AGENCY:
            return ticket.agency_id == self.agency_id
        return True


def principal_from_context(context: Mapping[str, Any] | None) -> Principal:
    """The caller as the authorizer described it; 401 when the context is missing or malformed (which
    means the route was deployed without the authorizer: fail closed)."""
    try:
        principal = Principal.model_validate(dict(context or {}))
    except ValidationError:
        raise Unauthenticated(
            "no valid caller identity on this request; send Authorization: Bearer <token>"
        ) from None
    if principal.role is Role.AGENCY and not principal.agency_id:
        raise Unauthenticated("agency token without an agency id")
    return principal


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise Forbidden(f"role {principal.role.value} may not do this; allowed: {allowed}")


def visible_or_404(principal: Principal, ticket: Ticket | None, ticket_id: str) -> Ticket:
    if ticket is None or not principal.can_see(ticket):
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket
