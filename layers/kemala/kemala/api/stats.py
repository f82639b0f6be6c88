"""Counts by status and agency, and the median time to first public response.

Reads only the attributes it needs from the GSIs (the caller's own inbox for an agency). At Central Java's
volume this is one paged read of the ticket items; beyond that, the same figures come from the exports
(Athena / `kemala audit`), and this endpoint should be bounded with `from`/`to`.
"""

from __future__ import annotations

import statistics
from collections import Counter

from kemala.api.access import Principal
from kemala.api.context import ApiContext
from kemala.api.queries import ListParams, plan
from kemala.api.schemas import Stats
from kemala.ids import parse_iso

_ATTRIBUTES = ["status", "agency_id", "created_at", "first_response_at"]


def compute_stats(ctx: ApiContext, principal: Principal, params: ListParams) -> Stats:
    by_status: Counter[str] = Counter()
    by_agency: Counter[str] = Counter()
    response_seconds: list[float] = []
    for query in plan(principal, params):
        for item in ctx.index.project(query, _ATTRIBUTES):
            by_status[str(item["status"])] += 1
            by_agency[str(item.get("agency_id") or "unassigned")] += 1
            if item.get("first_response_at"):
                delta = parse_iso(item["first_response_at"]) - parse_iso(item["created_at"])
                response_seconds.append(delta.total_seconds())
    return Stats(
        total=sum(by_status.values()),
        by_status=dict(sorted(by_status.items())),
        by_agency=dict(sorted(by_agency.items())),
        responded=len(response_seconds),
        median_first_response_seconds=statistics.median(response_seconds) if response_seconds else None,
    )
