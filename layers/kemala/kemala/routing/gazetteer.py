"""Which kabupaten/kota a complaint is about: Central Java's 35 regions, their aliases and towns.

The data is config/gazetteer.yaml compiled to kemala/data/gazetteer.json (phrases already normalised).
Matching reads the normalised tokens (`kemala.routing.normalize.tokens`), longest phrase first. A name
shared by a kota and a kabupaten (Semarang, Magelang, Pekalongan, Tegal) means the kota unless a kabupaten
cue precedes it ("kab. Semarang", "Bupati Tegal"). The region named most often in the text wins (ties: the
first named); the tweet's `place` counts only when the text names none, because a complaint is about the
place it names, not where the phone was.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kemala.routing.normalize import Lexicon, tokens
from kemala.routing.resources import GAZETTEER_FILE, read_json


@dataclass(frozen=True)
class Gazetteer:
    regions: dict[str, str]  # region id -> display name
    phrases: dict[str, str]  # unambiguous phrase -> region id
    shared: dict[str, dict[str, str]]  # bare name -> {"kota": id, "kab": id}
    needs_cue: dict[str, str]  # name that is also an ordinary word -> region id
    kab_cues: frozenset[str]
    cues: frozenset[str]
    max_words: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Gazetteer:
        names = [*data["phrases"], *data["shared"], *data["needs_cue"]]
        return cls(
            regions=dict(data["regions"]),
            phrases=dict(data["phrases"]),
            shared={name: dict(pair) for name, pair in data["shared"].items()},
            needs_cue=dict(data["needs_cue"]),
            kab_cues=frozenset(data["kab_cues"]),
            cues=frozenset(data["cues"]),
            max_words=max(len(name.split()) for name in names),
        )

    @classmethod
    def load(cls, path: str | Path = GAZETTEER_FILE) -> Gazetteer:
        return cls.from_dict(read_json(path))

    def mentions(self, words: list[str]) -> list[str]:
        """Every region named in `words`, in order of mention (a region named twice appears twice)."""
        found: list[str] = []
        i = 0
        while i < len(words):
            previous = words[i - 1] if i else ""
            for length in range(min(self.max_words, len(words) - i), 0, -1):
                region = self._region_of(" ".join(words[i : i + length]), previous)
                if region is not None:
                    found.append(region)
                    i += length
                    break
            else:
                i += 1
        return found

    def _region_of(self, phrase: str, previous: str) -> str | None:
        if phrase in self.phrases:
            return self.phrases[phrase]
        pair = self.shared.get(phrase)
        if pair is not None:
            return pair["kab"] if previous in self.kab_cues else pair["kota"]
        if phrase in self.needs_cue and previous in self.cues:
            return self.needs_cue[phrase]
        return None

    def region(
        self, words: list[str], place: str | None = None, lexicon: Lexicon | None = None
    ) -> str | None:
        """The region a complaint is about: the one its text names most, else its place, else None."""
        named = self.mentions(words)
        if not named and place:
            named = self.mentions(tokens(place, lexicon))
        if not named:
            return None
        counts = Counter(named)
        return max(named, key=lambda region: (counts[region], -named.index(region)))


@cache
def default_gazetteer() -> Gazetteer:
    return Gazetteer.load()
