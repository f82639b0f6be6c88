"""decide(): auto-route when confident and an agency answers, else triage with the reason."""

from __future__ import annotations

from kemala.routing.decide import decide
from kemala.routing.registry import Registry
from kemala.routing.types import Agency, AgencyLevel, Alternative, Classification, RouteDecision

REGISTRY = Registry.from_agencies(
    [
        Agency(id="jateng-dpu", name="DPU Provinsi", level=AgencyLevel.PROVINCE, categories=["public_works"]),
        Agency(
            id="kota-semarang-dpu",
            name="DPU Kota Semarang",
            level=AgencyLevel.REGENCY,
            region="kota-semarang",
            categories=["public_works"],
        ),
        Agency(
            id="kab-semarang-pdam",
            name="Perumda Air Minum Kabupaten Semarang",
            level=AgencyLevel.UTILITY,
            region="kab-semarang",
            categories=["water_utility"],
        ),
    ]
)
ALTERNATIVES = [Alternative(category="transport", confidence=0.05)]


def classification(category: str, confidence: float, region: str | None) -> Classification:
    return Classification(category=category, confidence=confidence, region=region, alternatives=ALTERNATIVES)


def test_confident_with_a_regional_agency_is_auto_routed_there() -> None:
    result = decide(classification("public_works", 0.9, "kota-semarang"), REGISTRY, threshold=0.5)
    assert (result.decision, result.agency, result.reason) == (
        RouteDecision.AUTO,
        "kota-semarang-dpu",
        "confident",
    )
    assert result.alternatives == ALTERNATIVES


def test_confident_without_a_regional_agency_falls_back_to_the_province() -> None:
    result = decide(classification("public_works", 0.9, "kab-grobogan"), REGISTRY, threshold=0.5)
    assert (result.decision, result.agency) == (RouteDecision.AUTO, "jateng-dpu")


def test_confidence_exactly_at_the_threshold_is_auto() -> None:
    assert decide(classification("public_works", 0.5, None), REGISTRY, 0.5).decision is RouteDecision.AUTO


def test_low_confidence_goes_to_triage_with_the_suggestion() -> None:
    result = decide(classification("public_works", 0.3, "kota-semarang"), REGISTRY, threshold=0.5)
    assert result.decision is RouteDecision.TRIAGE
    assert result.reason.startswith("low confidence: 0.30 < threshold 0.50")
    assert result.agency == "kota-semarang-dpu"  # shown to the operator, not routed to


def test_no_agency_for_the_category_in_region_or_province_goes_to_triage() -> None:
    result = decide(classification("water_utility", 0.95, "kab-grobogan"), REGISTRY, threshold=0.5)
    assert result.decision is RouteDecision.TRIAGE
    assert result.agency is None
    assert "no agency for category 'water_utility' in kab-grobogan" in result.reason
