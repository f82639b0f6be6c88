"""Auto-route or triage: the router's decision from a classification, the registry and a threshold."""

from __future__ import annotations

from kemala.routing.registry import Registry
from kemala.routing.types import Classification, RouteDecision, RoutingResult

CONFIDENT = "confident"


def decide(classification: Classification, registry: Registry, threshold: float) -> RoutingResult:
    """AUTO when the confidence reaches `threshold` and an agency answers for the category in the region
    (or province-wide); otherwise TRIAGE with the reason, and the suggested agency when there is one, so
    the operator sees what the router would have done."""
    agency = registry.resolve(classification.category, classification.region)
    if classification.confidence < threshold:
        decision, reason = (
            RouteDecision.TRIAGE,
            f"low confidence: {classification.confidence:.2f} < threshold {threshold:.2f}",
        )
    elif agency is None:
        where = classification.region or "the province"
        decision, reason = (
            RouteDecision.TRIAGE,
            f"no agency for category {classification.category!r} in {where} or province-wide",
        )
    else:
        decision, reason = RouteDecision.AUTO, CONFIDENT
    return RoutingResult(
        category=classification.category,
        confidence=classification.confidence,
        region=classification.region,
        agency=agency.id if agency is not None else None,
        decision=decision,
        reason=reason,
        alternatives=classification.alternatives,
    )
