"""The routing models every routing module, the router function and the CLI share.

Region ids are slugs of Central Java's 35 kabupaten/kota: `kab-<name>` or `kota-<name>`, lower case with
hyphens (`kota-semarang`, `kab-semarang`, `kota-surakarta`, `kab-grobogan`). The province is `jateng`.
Category codes are the Open311-style codes of ../shared/data/complaints/README.md (`public_works`, ...).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

PROVINCE = "jateng"


class Alternative(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    category: str
    confidence: float = Field(ge=0.0, le=1.0)


class Classification(BaseModel):
    """What the text says: its most likely category (calibrated confidence), the alternatives, its region."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    category: str
    confidence: float = Field(ge=0.0, le=1.0)
    alternatives: list[Alternative] = Field(default_factory=list)  # next best, best first
    region: str | None = None  # region id, or None when no place is named


class AgencyLevel(StrEnum):
    PROVINCE = "province"
    REGENCY = "regency"  # a kabupaten/kota government agency
    UTILITY = "utility"  # PDAM, PLN: not a government agency, but answers complaints the same way


class Agency(BaseModel):
    """One agency record of the registry (config/agencies.yaml -> DirectoryTable `AGENCY#<id>`)."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    name: str = Field(min_length=3)
    level: AgencyLevel
    region: str = PROVINCE  # the jurisdiction: a region id, or `jateng` for the whole province
    categories: list[str] = Field(min_length=1)
    queue_url: str | None = None  # set when the agency owns its queue, or after `kemala agencies apply`
    queue_owned_by_agency: bool = False
    x_user_id: str | None = Field(default=None, pattern=r"^[0-9]{1,20}$")
    x_handle: str | None = None
    x_secret_name: str | None = None  # Secrets Manager name of the agency's OAuth 1.0a user credentials
    sla_hours: int = Field(default=72, gt=0)
    active: bool = True


class RouteDecision(StrEnum):
    AUTO = "auto"
    TRIAGE = "triage"


class RoutingResult(BaseModel):
    """The router's decision for one ticket: `kemala routing classify` prints one of these per line."""

    model_config = ConfigDict(defer_build=True)

    category: str
    confidence: float
    region: str | None
    agency: str | None  # agency id
    decision: RouteDecision
    reason: str  # why triage (low confidence, no agency for category/region), or "confident"
    alternatives: list[Alternative] = Field(default_factory=list)
