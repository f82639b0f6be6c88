"""Registry.resolve: the most specific region wins, then the province, then nobody (triage)."""

from __future__ import annotations

import re

import pytest
from kemala.routing.registry import Registry, RegistryConflict
from kemala.routing.types import Agency, AgencyLevel

from tests.conftest import PROJECT_ROOT, SHARED_DATA


def _agency(id_: str, region: str, *categories: str, active: bool = True) -> Agency:
    level = AgencyLevel.PROVINCE if region == "jateng" else AgencyLevel.REGENCY
    return Agency(
        id=id_, name=f"Dinas {id_}", level=level, region=region, categories=list(categories), active=active
    )


@pytest.fixture
def registry() -> Registry:
    return Registry.from_agencies(
        [
            _agency("jateng-dpubmck", "jateng", "public_works"),
            _agency("jateng-dishub", "jateng", "transport"),
            _agency("kab-grobogan-dpupr", "kab-grobogan", "public_works"),
            _agency("kota-semarang-dpu", "kota-semarang", "public_works"),
            _agency("kab-semarang-dpupr", "kab-semarang", "public_works", active=False),
        ]
    )


def test_region_agency_beats_the_province(registry: Registry) -> None:
    resolved = registry.resolve("public_works", "kab-grobogan")
    assert resolved is not None and resolved.id == "kab-grobogan-dpupr"
    resolved = registry.resolve("public_works", "kota-semarang")
    assert resolved is not None and resolved.id == "kota-semarang-dpu"


def test_province_answers_when_the_region_has_no_agency_for_the_category(registry: Registry) -> None:
    resolved = registry.resolve("transport", "kab-grobogan")
    assert resolved is not None and resolved.id == "jateng-dishub"
    unknown_region = registry.resolve("public_works", "kab-blora")
    assert unknown_region is not None and unknown_region.id == "jateng-dpubmck"
    no_region = registry.resolve("public_works", None)
    assert no_region is not None and no_region.id == "jateng-dpubmck"


def test_inactive_agency_is_skipped_for_the_province(registry: Registry) -> None:
    resolved = registry.resolve("public_works", "kab-semarang")
    assert resolved is not None and resolved.id == "jateng-dpubmck"
    assert registry.get("kab-semarang-dpupr") is not None  # still known by id


def test_nobody_for_a_category_no_agency_covers(registry: Registry) -> None:
    assert registry.resolve("electricity", "kota-semarang") is None
    assert registry.get("nope") is None


def test_conflicts_are_refused() -> None:
    with pytest.raises(RegistryConflict, match="used twice"):
        Registry.from_agencies([_agency("a-b", "jateng", "health"), _agency("a-b", "jateng", "labour")])
    with pytest.raises(RegistryConflict, match="both answer for 'health'"):
        Registry.from_agencies([_agency("a-b", "jateng", "health"), _agency("c-d", "jateng", "health")])


def _readme_category_codes() -> set[str]:
    readme = (SHARED_DATA / "complaints" / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| ([a-z_]+) \|", readme, flags=re.MULTILINE)) - {"code"}


def test_the_registry_codes_are_the_complaints_readme_codes() -> None:
    from kemala_cli.agency_onboarding import Codes

    assert Codes.load().categories == _readme_category_codes()
    assert len(Codes.load().regions) == 35


def test_default_registry_is_valid_and_has_a_provincial_agency_for_every_category() -> None:
    from kemala.routing.registry import read_agency_file
    from kemala_cli.agency_onboarding import Codes, validate

    path = PROJECT_ROOT / "config" / "agencies.yaml"
    agencies, problems = validate(read_agency_file(path), Codes.load())
    assert problems == []
    registry = Registry.from_agencies(agencies)
    for category in _readme_category_codes():
        provincial = registry.resolve(category, None)
        assert provincial is not None and provincial.region == "jateng", category
    grobogan_roads = registry.resolve("public_works", "kab-grobogan")
    semarang_bus = registry.resolve("transport", "kota-semarang")
    solo_water = registry.resolve("water_utility", "kota-surakarta")
    assert grobogan_roads is not None and grobogan_roads.id == "kab-grobogan-dpupr"
    assert semarang_bus is not None and semarang_bus.id == "kota-semarang-dishub"
    assert solo_water is not None and "Toya Wening" in solo_water.name
    electricity = registry.resolve("electricity", "kab-grobogan")
    assert electricity is not None and electricity.level.value == "utility"
