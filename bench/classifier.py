"""Classifier budgets (DESIGN.md): ≤ 1 ms per tweet, model load ≤ 50 ms, in pure Python.

Load: `Classifier.load()` of the shipped model with every cache cleared (JSON model, slang, keywords,
gazetteer read and built), after the modules are imported (import cost belongs to the cold-start bench).
Per tweet: `classify()` (normalise, score, keywords, region) on every complaint of
../shared/data/complaints/train.jsonl cut to 280 characters, and at full length for reference.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from kemala.routing import classifier as classifier_module
from kemala.routing import gazetteer, keywords, normalize

TRAIN = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "complaints" / "train.jsonl"
LOAD_BUDGET_MS = 50.0
TWEET_BUDGET_MS = 1.0


def cold_load_ms() -> float:
    for cached in (normalize.default_lexicon, keywords.default_keywords, gazetteer.default_gazetteer):
        cached.cache_clear()
    start = time.perf_counter()
    classifier_module.Classifier.load()
    return (time.perf_counter() - start) * 1000


def per_text_ms(classifier: classifier_module.Classifier, texts: list[str]) -> list[float]:
    times = []
    for text in texts:
        start = time.perf_counter()
        classifier.classify(text)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    loads = [cold_load_ms() for _ in range(7)]
    size_kb = classifier_module.MODEL_FILE.stat().st_size / 1024
    print(f"model file: {size_kb:.0f} KiB")
    verdict = "OK" if statistics.median(loads) <= LOAD_BUDGET_MS else "OVER BUDGET"
    print(
        f"model load: first {loads[0]:.1f} ms, median {statistics.median(loads):.1f} ms of {len(loads)} "
        f"(budget {LOAD_BUDGET_MS:.0f} ms) {verdict}"
    )
    classifier = classifier_module.Classifier.load()
    texts = [json.loads(line)["text"] for line in TRAIN.read_text(encoding="utf-8").splitlines()]
    per_text_ms(classifier, texts[:50])  # warm up
    for label, sample in (("280 chars", [t[:280] for t in texts]), ("full length", texts)):
        times = sorted(per_text_ms(classifier, sample))
        p99 = times[int(0.99 * (len(times) - 1))]
        verdict = "OK" if statistics.mean(times) <= TWEET_BUDGET_MS else "OVER BUDGET"
        print(
            f"classify ({label}, {len(times)} texts): mean {statistics.mean(times):.3f} ms, "
            f"p50 {statistics.median(times):.3f} ms, p99 {p99:.3f} ms "
            f"(budget {TWEET_BUDGET_MS:.0f} ms/tweet) {verdict}"
        )


if __name__ == "__main__":
    main()
