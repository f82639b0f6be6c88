"""What the API needs from its environment: settings, stores and queues, built once per cold start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import Field

from kemala.acknowledgement import ACK_AGENCY_PATTERN
from kemala.ids import iso, utc_now
from kemala.settings import BaseSettings
from kemala.store.agencies import AgencyStore
from kemala.store.ticket_index import TicketIndex
from kemala.store.tickets import TicketStore


class ApiSettings(BaseSettings):
    directory_table: str = Field(min_length=1)
    operators_queue_url: str = Field(min_length=1)
    outbound_queue_url: str = Field(min_length=1)
    ack_agency_id: str = Field(default="", pattern=ACK_AGENCY_PATTERN)  # "" = no acknowledgements
    # Our requests are a few hundred bytes (a reply is at most ~4000 characters); refuse more before
    # parsing. API Gateway itself allows 10 MB.
    max_body_bytes: int = Field(default=16 * 1024, gt=0)


def _now() -> str:
    return iso(utc_now())


@dataclass
class ApiContext:
    tickets: TicketStore
    index: TicketIndex
    agencies: AgencyStore
    operators_queue_url: str
    outbound_queue_url: str
    max_body_bytes: int = 16 * 1024
    now: Callable[[], str] = field(default=_now)
    ack_agency_id: str = ""  # the agency whose X account acknowledges delegations; "" = off

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> ApiContext:
        tickets = TicketStore(settings.tickets_table)
        return cls(
            tickets=tickets,
            index=TicketIndex(tickets),
            agencies=AgencyStore(settings.directory_table),
            operators_queue_url=settings.operators_queue_url,
            outbound_queue_url=settings.outbound_queue_url,
            max_body_bytes=settings.max_body_bytes,
            ack_agency_id=settings.ack_agency_id,
        )
