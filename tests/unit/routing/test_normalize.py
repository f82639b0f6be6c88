"""Normalisation of Indonesian complaint tweets (kemala.routing.normalize, data from config/slang.yaml)."""

from __future__ import annotations

import pytest
from kemala.routing.normalize import normalize, tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jln rusak gk diperbaiki", "jalan rusak tidak diperbaiki"),
        ("Jl. Pemuda yg rusak", "jalan pemuda yang rusak"),
        ("ga ada, gak ada, nggak ada, tdk ada", "tidak ada tidak ada tidak ada tidak ada"),
        ("sdh lapor dgn RT tp blm ada tindakan", "sudah lapor dengan rt tapi belum ada tindakan"),
        ("kpn diperbaiki? bnyk yg jatuh bgt", "kapan diperbaiki banyak yang jatuh banget"),
        ("dalane rusak ora didandani", "jalan rusak tidak didandani"),  # Javanese
    ],
)
def test_slang_and_abbreviations_are_expanded(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rusakkkk parahhh", "rusak parah"),
        ("maaaaf min", "maaf admin"),  # a double letter is kept when that makes a known word
        ("gakkk", "tidak"),  # collapsed first, then expanded
    ],
)
def test_repeated_letters_collapse(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_emoji_punctuation_and_digits_go_fancy_fonts_become_plain() -> None:
    assert normalize("𝐣𝐚𝐥𝐚𝐧 RUSAK!!! 😡😡 km 12") == "jalan rusak km"


def test_words_in_other_scripts_are_kept_as_words() -> None:
    assert tokens("banjir 洪水 di Demak") == ["banjir", "洪水", "di", "demak"]


def test_complaint_hashtag_is_dropped_others_become_words() -> None:
    assert normalize("#KemalaJateng #JalanRusak di #semarang") == "jalan rusak di semarang"


def test_run_together_lower_case_hashtag_is_split_into_known_words() -> None:
    assert normalize("#jalanrusak #airmati") == "jalan rusak air mati"


def test_unknown_hashtag_stays_one_word() -> None:
    assert normalize("#xqzvbn") == "xqzvbn"


def test_urls_are_dropped_mentions_become_their_words() -> None:
    assert normalize("@PDAMKotaSmg air mati https://t.co/AbC123 www.example.com/x") == (
        "pdam kota semarang air mati"
    )


def test_glued_camel_case_reduplication_and_nya_suffix() -> None:
    assert normalize("Jalan RusakSudah lama, rumah2 warganya kebanjiran") == (
        "jalan rusak sudah lama rumah warga banjir"
    )


def test_words_ending_in_nya_that_are_not_a_suffix_are_kept() -> None:
    assert normalize("punya tanya hanya") == "punya tanya hanya"
