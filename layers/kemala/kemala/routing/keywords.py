"""Curated domain keywords per category: the evidence an operator would route on.

config/keywords.yaml compiled to kemala/data/keywords.json: normalised phrase -> {category: weight}
(strong 2, weak 1). They make categories the training data lacks (water_utility, electricity, disaster)
reachable, and back the model up on short tweets. The classifier adds their score to the model's
log-probabilities with a weight fitted on held-out folds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kemala.routing.resources import KEYWORDS_FILE, read_json


@dataclass(frozen=True)
class Keywords:
    phrases: dict[str, dict[str, float]]
    categories: tuple[str, ...]
    max_words: int
    cap: float  # one category's score is capped: ten weak words are not proof

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Keywords:
        phrases = {phrase: dict(weights) for phrase, weights in data["phrases"].items()}
        return cls(
            phrases=phrases,
            categories=tuple(data["categories"]),
            max_words=max(len(phrase.split()) for phrase in phrases),
            cap=float(data["cap"]),
        )

    @classmethod
    def load(cls, path: str | Path = KEYWORDS_FILE) -> Keywords:
        return cls.from_dict(read_json(path))

    def matches(self, words: list[str]) -> set[str]:
        """The distinct keyword phrases in `words`, longest match first at each position."""
        found: set[str] = set()
        i = 0
        while i < len(words):
            for length in range(min(self.max_words, len(words) - i), 0, -1):
                phrase = " ".join(words[i : i + length])
                if phrase in self.phrases:
                    found.add(phrase)
                    i += length
                    break
            else:
                i += 1
        return found

    def scores(self, words: list[str]) -> dict[str, float]:
        """Category -> summed weight of its matched phrases, capped; categories with no match are absent."""
        totals: dict[str, float] = {}
        for phrase in self.matches(words):
            for category, weight in self.phrases[phrase].items():
                totals[category] = totals.get(category, 0.0) + weight
        return {category: min(total, self.cap) for category, total in totals.items()}


@cache
def default_keywords() -> Keywords:
    return Keywords.load()
