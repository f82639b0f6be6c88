"""Text normalisation for Indonesian complaint tweets: one token list that the model, the keywords and the
gazetteer all read, so a word means the same thing to each of them.

Steps, in order: Unicode NFKC (fancy "𝐣𝐚𝐥𝐚𝐧" fonts, full-width letters) -> drop URLs and data placeholders
-> @mentions and #hashtags become their words (`@PDAMKotaSmg` -> pdam kota semarang, `#JalanRusak` ->
jalan rusak, `#jalanrusak` split with the known-word list; the complaint hashtag itself is dropped) ->
camelCase runs split (`BanjirSampai` -> banjir sampai; LAPOR! titles are glued to their text) -> lower
case -> words only (digits, emoji and punctuation go) -> reduplication `rumah2` -> rumah -> letters
repeated three times or more collapse (`rusakkkk` -> rusak) -> the suffix `-nya` is stripped -> slang and
abbreviations expanded from data (config/slang.yaml -> kemala/data/slang.json).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kemala.routing.resources import SLANG_FILE, read_json

_URL = re.compile(r"(?:https?://|www\.)\S+|\bt\.co/\S+", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"<(?:nomor|email)>", re.IGNORECASE)
_TAG = re.compile(r"([#@])(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]{2})")
_REDUPLICATION = re.compile(r"(?<=[^\W\d_])2(?=\W|_|$)")
_WORD = re.compile(r"[^\W\d_]+")
_REPEAT3 = re.compile(r"(\w)\1{2,}")
_NYA_MIN_STEM = 3


@dataclass(frozen=True)
class Lexicon:
    """The normalisation data: slang -> standard words, hashtags to drop, known words for splitting."""

    slang: dict[str, tuple[str, ...]]
    drop_hashtags: frozenset[str]
    words: frozenset[str]
    keep_nya: frozenset[str]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lexicon:
        return cls(
            slang={key: tuple(str(value).split()) for key, value in data.get("slang", {}).items()},
            drop_hashtags=frozenset(data.get("drop_hashtags", [])),
            words=frozenset(data.get("words", [])),
            keep_nya=frozenset(data.get("keep_nya", [])),
        )

    @classmethod
    def load(cls, path: str | Path = SLANG_FILE) -> Lexicon:
        return cls.from_dict(read_json(path))

    def is_known(self, word: str) -> bool:
        return word in self.words or word in self.slang


@cache
def default_lexicon() -> Lexicon:
    return Lexicon.load()


def tokens(text: str, lexicon: Lexicon | None = None) -> list[str]:
    """The normalised words of `text`."""
    lex = lexicon or default_lexicon()
    text = unicodedata.normalize("NFKC", text)
    text = _PLACEHOLDER.sub(" ", _URL.sub(" ", text))
    text = _TAG.sub(lambda m: " " + _tag_words(m.group(1), m.group(2), lex) + " ", text)
    text = _REDUPLICATION.sub("", _CAMEL.sub(" ", text)).casefold()
    out: list[str] = []
    for raw in _WORD.findall(text):
        word = _strip_nya(_collapse_repeats(raw, lex), lex)
        out.extend(lex.slang.get(word, (word,)))
    return out


def normalize(text: str, lexicon: Lexicon | None = None) -> str:
    """`tokens` joined by single spaces."""
    return " ".join(tokens(text, lexicon))


def _tag_words(sigil: str, body: str, lex: Lexicon) -> str:
    """A hashtag or mention as plain words: camelCase split, or a run-together lower-case tag segmented."""
    body = body.replace("_", " ")
    if sigil == "#" and body.casefold() in lex.drop_hashtags:
        return ""
    if " " in body or _CAMEL.search(body):
        return body
    pieces = _segment(body.casefold(), lex)
    return " ".join(pieces) if pieces else body


def _segment(word: str, lex: Lexicon) -> list[str] | None:
    """Split `word` into the fewest known words (each ≥ 2 letters), or None when it cannot be split."""
    if lex.is_known(word):
        return [word]
    best: list[list[str] | None] = [None] * (len(word) + 1)
    best[0] = []
    for end in range(2, len(word) + 1):
        for start in range(0, end - 1):
            prefix = best[start]
            piece = word[start:end]
            if prefix is not None and lex.is_known(piece):
                candidate = [*prefix, piece]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[len(word)]


def _collapse_repeats(word: str, lex: Lexicon) -> str:
    """`rusakkkk` -> rusak; keeps a double letter when that makes a known word (`maaaaf` -> maaf)."""
    if not _REPEAT3.search(word):
        return word
    double = _REPEAT3.sub(r"\1\1", word)
    return double if lex.is_known(double) else _REPEAT3.sub(r"\1", word)


def _strip_nya(word: str, lex: Lexicon) -> str:
    """`jalannya` -> jalan: the possessive/definite suffix carries no routing meaning."""
    if word.endswith("nya") and len(word) - 3 >= _NYA_MIN_STEM and word not in lex.keep_nya:
        return word[:-3]
    return word
