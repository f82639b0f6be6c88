"""Region matching: Central Java's 35 kabupaten/kota, aliases, Kota vs Kabupaten, the place field."""

from __future__ import annotations

import re

import pytest
from kemala.routing.gazetteer import default_gazetteer
from kemala.routing.normalize import tokens


def region(text: str, place: str | None = None) -> str | None:
    return default_gazetteer().region(tokens(text), place)


def test_all_35_regions_with_valid_ids() -> None:
    regions = default_gazetteer().regions
    assert len(regions) == 35
    assert sum(r.startswith("kota-") for r in regions) == 6
    assert sum(r.startswith("kab-") for r in regions) == 29
    assert all(re.fullmatch(r"(kab|kota)-[a-z]+", r) for r in regions)


def test_every_region_is_found_by_its_official_name() -> None:
    for region_id, name in default_gazetteer().regions.items():
        assert region(f"jalan rusak di {name}") == region_id, name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lampu merah mati di Solo", "kota-surakarta"),
        ("macet parah di Solo Baru", "kab-sukoharjo"),
        ("jalan rusak di Kota Semarang", "kota-semarang"),
        ("jalan rusak di Kabupaten Semarang", "kab-semarang"),
        ("jalan rusak di Kab. Semarang", "kab-semarang"),
        ("jalan rusak di Semarang", "kota-semarang"),  # bare name: the kota
        ("jalan rusak di smg", "kota-semarang"),
        ("sampah numpuk di Ungaran", "kab-semarang"),
        ("jalan berlubang di Jl. Raya Purwodadi km 12", "kab-grobogan"),
        ("pasar Mungkid becek", "kab-magelang"),
        ("bupati Magelang tolong", "kab-magelang"),
        ("Magelang macet", "kota-magelang"),
        ("Kajen banjir", "kab-pekalongan"),
        ("Slawi gelap", "kab-tegal"),
        ("Kabupaten Tegal", "kab-tegal"),
        ("terminal Purwokerto kotor", "kab-banyumas"),
        ("jembatan putus di Batang", "kab-batang"),
        ("Tembalang banjir lagi", "kota-semarang"),
    ],
)
def test_aliases_towns_and_kota_vs_kabupaten(text: str, expected: str) -> None:
    assert region(text) == expected


def test_ordinary_word_that_is_also_a_name_needs_a_cue() -> None:
    assert region("batang pohon tumbang menutup jalan") is None


def test_no_place_named_gives_none() -> None:
    assert region("jalan rusak parah tolong diperbaiki") is None


def test_place_field_is_used_when_the_text_names_no_region() -> None:
    assert region("jalan rusak parah", place="Ungaran, Indonesia") == "kab-semarang"
    assert region("jalan rusak parah", place="Kabupaten Semarang, Jawa Tengah") == "kab-semarang"


def test_text_beats_place() -> None:
    assert region("jalan rusak di Salatiga", place="Semarang, Indonesia") == "kota-salatiga"


def test_region_named_most_wins_then_the_first() -> None:
    assert region("dari Kudus ke Pati, jalan di Pati rusak") == "kab-pati"
    assert region("dari Kudus ke Pati") == "kab-kudus"
