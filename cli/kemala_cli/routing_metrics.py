"""Routing quality figures, in pure Python: accuracy, macro-F1, coverage and accuracy on auto-routed
tickets at a threshold, overall and per category. Shared by `kemala routing eval` and `crossval`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Scored:
    truth: str
    predicted: str
    routed: bool  # confidence reached the threshold: auto-routed, not triaged


@dataclass(frozen=True)
class Figures:
    n: int
    accuracy: float
    macro_f1: float
    coverage: float  # share auto-routed (confidence >= threshold)
    routed_accuracy: float  # accuracy among the auto-routed; nan when none is routed


@dataclass(frozen=True)
class CategoryFigures:
    category: str
    support: int
    precision: float
    recall: float
    f1: float
    coverage: float
    routed_accuracy: float


def _ratio(num: float, den: float) -> float:
    return num / den if den else float("nan")


def _f1(precision: float, recall: float) -> float:
    if precision != precision or recall != recall or precision + recall == 0:  # nan or zero
        return 0.0
    return 2 * precision * recall / (precision + recall)


def per_category(rows: Sequence[Scored]) -> list[CategoryFigures]:
    """One line per category that is either true or predicted somewhere, by support (most first)."""
    categories = sorted({r.truth for r in rows} | {r.predicted for r in rows})
    out = []
    for category in categories:
        true_rows = [r for r in rows if r.truth == category]
        predicted = [r for r in rows if r.predicted == category]
        hits = sum(r.predicted == category for r in true_rows)
        precision, recall = _ratio(hits, len(predicted)), _ratio(hits, len(true_rows))
        routed = [r for r in true_rows if r.routed]
        out.append(
            CategoryFigures(
                category=category,
                support=len(true_rows),
                precision=precision,
                recall=recall,
                f1=_f1(precision, recall),
                coverage=_ratio(len(routed), len(true_rows)),
                routed_accuracy=_ratio(sum(r.predicted == r.truth for r in routed), len(routed)),
            )
        )
    return sorted(out, key=lambda c: (-c.support, c.category))


def figures(rows: Sequence[Scored]) -> Figures:
    """Macro-F1 averages every category that is true or predicted (sklearn's default)."""
    routed = [r for r in rows if r.routed]
    categories = per_category(rows)
    return Figures(
        n=len(rows),
        accuracy=_ratio(sum(r.truth == r.predicted for r in rows), len(rows)),
        macro_f1=_ratio(sum(c.f1 for c in categories), len(categories)),
        coverage=_ratio(len(routed), len(rows)),
        routed_accuracy=_ratio(sum(r.truth == r.predicted for r in routed), len(routed)),
    )


def pct(value: float) -> str:
    return "–" if value != value else f"{100 * value:.1f}%"


def report(rows: Sequence[Scored], threshold: float) -> str:
    """The text `kemala routing eval` prints."""
    overall = figures(rows)
    lines = [
        f"examples: {overall.n}   threshold: {threshold:.3f}",
        f"accuracy: {pct(overall.accuracy)}   macro-F1: {pct(overall.macro_f1)}   "
        f"coverage: {pct(overall.coverage)}   accuracy-on-routed: {pct(overall.routed_accuracy)}",
        "",
        f"{'category':<18} {'n':>5} {'precision':>9} {'recall':>7} {'F1':>7} "
        f"{'coverage':>8} {'acc-routed':>10}",
    ]
    for c in per_category(rows):
        lines.append(
            f"{c.category:<18} {c.support:>5} {pct(c.precision):>9} {pct(c.recall):>7} {pct(c.f1):>7} "
            f"{pct(c.coverage):>8} {pct(c.routed_accuracy):>10}"
        )
    return "\n".join(lines)
