"""The classifier contract the router codes against, and curated keywords reaching every category."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from kemala.routing.classifier import Classifier, default_classifier
from kemala.routing.normalize import tokens
from kemala.routing.resources import MODEL_FILE
from kemala_cli.routing_train import CATEGORIES, combine


def test_shipped_model_is_small_and_covers_every_category() -> None:
    assert MODEL_FILE.stat().st_size < 2_000_000
    classifier = default_classifier()
    assert sorted(classifier.categories) == sorted(CATEGORIES)
    assert 0.0 < classifier.threshold < 1.0


def test_default_classifier_is_loaded_once() -> None:
    assert default_classifier() is default_classifier()


@pytest.mark.parametrize(
    "text",
    [
        "#KemalaJateng jalan berlubang di Jl. Raya Purwodadi km 12",
        "min tolong",
        "😡😡😡",
        "x" * 5000,
    ],
)
def test_classify_contract(text: str) -> None:
    result = default_classifier().classify(text)
    assert result.category in CATEGORIES
    assert 0.0 <= result.confidence <= 1.0
    assert len(result.alternatives) == 3
    confidences = [result.confidence] + [a.confidence for a in result.alternatives]
    assert confidences == sorted(confidences, reverse=True)
    assert result.category not in {a.category for a in result.alternatives}


def test_probabilities_sum_to_one() -> None:
    p = default_classifier().probabilities(tokens("sampah menumpuk di pinggir jalan"))
    assert math.isclose(sum(p.values()), 1.0, rel_tol=1e-9)


def test_region_and_place_come_through() -> None:
    classifier = default_classifier()
    assert classifier.classify("jalan berlubang di Ungaran").region == "kab-semarang"
    assert classifier.classify("jalan berlubang", place="Solo, Jawa Tengah").region == "kota-surakarta"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Hand-written tweets, not from train.jsonl (which has no water_utility or electricity rows).
        ("air PDAM mati sudah 3 hari, warga beli air galon", "water_utility"),
        ("@pdamkotasmg airnya keruh dan bau, tolong dicek", "water_utility"),
        ("meteran air rusak tagihan air naik terus", "water_utility"),
        ("mati lampu lagi sejak sore, PLN kapan nyala?", "electricity"),
        ("listrik padam seharian di Kudus gk ada info", "electricity"),
        ("token listrik sudah diisi tapi meteran error", "electricity"),
        ("tanah longsor menutup akses desa, warga mengungsi", "disaster"),
        ("banjir bandang, rumah terendam, butuh evakuasi, BPBD mana?", "disaster"),
        ("angin puting beliung merusak puluhan rumah warga", "disaster"),
    ],
)
def test_keywords_reach_categories_the_training_data_lacks(text: str, expected: str) -> None:
    assert default_classifier().classify(text).category == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jln rusakkk parah bgt di depan SD, banyak lubang", "public_works"),
        ("KTP elektronik saya blm jadi udh 3 bulan", "civil_registry"),
        ("anak sy gk dapat PKH padahal keluarga tidak mampu", "social_welfare"),
        ("parkir liar di depan pasar bikin macet", "transport"),
    ],
)
def test_common_tweets_land_in_their_category(text: str, expected: str) -> None:
    assert default_classifier().classify(text).category == expected


def test_training_time_combination_matches_inference() -> None:
    """Calibration is fitted with the numpy `combine`; the Lambda computes it in pure Python."""
    classifier = default_classifier()
    words = tokens("air pdam mati, jalan juga rusak dan banjir")
    trained = classifier.linear.classes
    logits = np.array([classifier.linear.scores(words)])
    keyword_scores = classifier.keywords.scores(words)
    kw = np.array([[keyword_scores.get(c, 0.0) for c in classifier.categories]])
    p = combine(logits, kw, classifier.temperature, classifier.keyword_weight, len(trained))[0]
    python = classifier.probabilities(words)
    for k, category in enumerate(classifier.categories):
        assert math.isclose(p[k], python[category], abs_tol=1e-9)


def test_loading_a_model_of_another_format_fails_clearly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "model.json"
    model = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**model, "format": 99}))
    with pytest.raises(ValueError, match="unsupported model format 99"):
        Classifier.load(path)
