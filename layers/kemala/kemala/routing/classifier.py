"""Category and region of a complaint, scored in pure Python from the JSON model shipped in the layer.

The model (`kemala routing train` -> kemala/data/model.json) is a multinomial logistic regression over
TF-IDF word 1-2-grams of the normalised text. At inference:

    log p_model = log_softmax(linear scores / temperature)       # over the categories seen in training
    z           = log p_model + keyword_weight * keyword score     # curated keywords, capped per category
    z (unseen)  = log(unseen_prior) + unseen_keyword_weight * keyword score
                  # keyword-led categories, with (almost) no training rows: water_utility, electricity,
                  # disaster. Keywords are all the evidence we have for them.
    confidence  = softmax(z)

`temperature` and `keyword_weight` are fitted on held-out folds at train time (minimum log-loss), so the
confidence is calibrated, and `threshold` (the default auto-routing threshold) is chosen there too. The
keyword-led prior and keyword weight cannot be fitted (no rows): they are design constants.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kemala.routing.gazetteer import Gazetteer, default_gazetteer
from kemala.routing.keywords import Keywords, default_keywords
from kemala.routing.normalize import Lexicon, default_lexicon, tokens
from kemala.routing.resources import MODEL_FILE, read_json
from kemala.routing.types import Alternative, Classification

MODEL_FORMAT = 1
ALTERNATIVES = 3


def ngrams(words: list[str]) -> list[str]:
    """The model's features: words and adjacent word pairs (shared with training, so they cannot drift)."""
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


@dataclass(frozen=True)
class LinearModel:
    """TF-IDF (sublinear tf, l2-normalised) + one weight row per feature; scores are plain dot products."""

    classes: list[str]
    vocabulary: dict[str, int]
    idf: list[float]
    weights: list[list[float]]  # per feature: one weight per class
    bias: list[float]

    def scores(self, words: list[str]) -> list[float]:
        counts = Counter(f for f in ngrams(words) if f in self.vocabulary)
        values = {}
        for feature, count in counts.items():
            index = self.vocabulary[feature]
            values[index] = (1.0 + math.log(count)) * self.idf[index]
        norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
        scores = list(self.bias)
        for index, value in values.items():
            x = value / norm
            for k, w in enumerate(self.weights[index]):
                scores[k] += x * w
        return scores


class Classifier:
    """Loads a model file and classifies complaint text. `threshold` is the default auto-routing threshold."""

    def __init__(
        self,
        model: dict[str, Any],
        lexicon: Lexicon | None = None,
        keywords: Keywords | None = None,
        gazetteer: Gazetteer | None = None,
    ) -> None:
        if model.get("format") != MODEL_FORMAT:
            raise ValueError(f"unsupported model format {model.get('format')!r}; retrain the model")
        self.linear = LinearModel(
            classes=model["trained_classes"],
            vocabulary={feature: i for i, feature in enumerate(model["features"])},
            idf=model["idf"],
            weights=model["weights"],
            bias=model["bias"],
        )
        self.categories: list[str] = model["categories"]
        self.temperature: float = model["temperature"]
        self.keyword_weight: float = model["keyword_weight"]
        self.unseen_log_prior: float = math.log(model["unseen_prior"])
        self.unseen_keyword_weight: float = model["unseen_keyword_weight"]
        self.threshold: float = model["threshold"]
        self.metadata: dict[str, Any] = model.get("metadata", {})
        self.lexicon = lexicon or default_lexicon()
        self.keywords = keywords or default_keywords()
        self.gazetteer = gazetteer or default_gazetteer()
        self._trained_index = {c: i for i, c in enumerate(self.linear.classes)}

    @classmethod
    def load(cls, path: str | Path | None = None) -> Classifier:
        """The model at `path`, or the one shipped in the layer when None."""
        return cls(read_json(path or MODEL_FILE))

    def probabilities(self, words: list[str]) -> dict[str, float]:
        """Calibrated probability of every category for normalised `words`."""
        scaled = [s / self.temperature for s in self.linear.scores(words)]
        log_z = _logsumexp(scaled)
        keyword_scores = self.keywords.scores(words)
        z = {}
        for category in self.categories:
            keyword_score = keyword_scores.get(category, 0.0)
            index = self._trained_index.get(category)
            if index is None:
                z[category] = self.unseen_log_prior + self.unseen_keyword_weight * keyword_score
            else:
                z[category] = scaled[index] - log_z + self.keyword_weight * keyword_score
        total = _logsumexp(list(z.values()))
        return {category: math.exp(value - total) for category, value in z.items()}

    def classify(self, text: str, place: str | None = None) -> Classification:
        words = tokens(text, self.lexicon)
        ranked = sorted(self.probabilities(words).items(), key=lambda item: item[1], reverse=True)
        (category, confidence), rest = ranked[0], ranked[1 : 1 + ALTERNATIVES]
        return Classification(
            category=category,
            confidence=_clamp(confidence),
            alternatives=[Alternative(category=c, confidence=_clamp(p)) for c, p in rest],
            region=self.gazetteer.region(words, place, self.lexicon),
        )


@cache
def default_classifier() -> Classifier:
    """The shipped model, loaded once per process (Lambda keeps it across invocations)."""
    return Classifier.load()


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _clamp(p: float) -> float:
    return round(min(1.0, max(0.0, p)), 4)
