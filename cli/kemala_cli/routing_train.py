"""Training-time routing work (scikit-learn and PyYAML live here, never in the layer).

- `compile_sources`: config/{slang,keywords,gazetteer}.yaml -> the JSON the layer reads at run time.
- `train_model`: fit the linear model on labelled complaints and fit, on held-out folds, the temperature,
  the keyword weight and the auto-routing threshold; returns the JSON model `Classifier` loads.
- `cross_validate`: the figures of docs/routing.md, for the model and the TF-IDF + LinearSVC baseline.
"""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from kemala.routing.classifier import MODEL_FORMAT, ngrams
from kemala.routing.keywords import Keywords
from kemala.routing.normalize import Lexicon, tokens

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_ROOT / "config"
TWEET_LENGTH = 280
STRONG, WEAK = 2.0, 1.0
KEYWORD_CAP = 4.0
# A category with no training rows (water_utility, electricity) has only its keywords as evidence, so they
# cannot be fitted: prior 2%, and each keyword weight unit multiplies the odds by e^2 (one strong keyword
# alone brings such a category level with a confident model; two outweigh it).
UNSEEN_PRIOR = 0.02
UNSEEN_KEYWORD_WEIGHT = 2.0
# A category with fewer complaints than this (disaster: 2) is keyword-led like an unseen one: a linear
# model cannot learn a class from two rows, and its near-zero probability would drown the keywords.
MIN_TRAINED_EXAMPLES = 5
TARGET_PRECISION = 0.87  # accuracy wanted on auto-routed tickets (held-out); 0.85 is the aim, plus margin
FOLDS = 5
SEED = 20240601
LR_C = 20.0
MIN_DF = 2
TEMPERATURES = [0.25 * 1.15**i for i in range(30)]
KEYWORD_WEIGHTS = [0.1 * i for i in range(31)]

# The category codes of ../shared/data/complaints/README.md, in the README's order.
CATEGORIES = [
    "public_works", "transport", "environment", "civil_registry", "social_welfare", "licensing",
    "education", "health", "agriculture_food", "labour", "housing_land", "communications",
    "trade_industry", "public_order", "civil_service", "family_welfare", "youth_sports", "regional_tax",
    "disaster", "water_utility", "electricity",
]  # fmt: skip


class TrainingDataError(ValueError):
    """A labelled-data or config file is malformed; the message names the file and line."""


# ---------------------------------------------------------------- compiling config/ into layer JSON


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        raise TrainingDataError(f"{path}: {exc}") from exc


def _words_of(items: Iterable[str]) -> set[str]:
    return {word for item in items for word in item.split()}


def compile_slang(source: dict[str, Any]) -> dict[str, Any]:
    slang = {str(k).casefold(): str(v).casefold() for k, v in (source.get("slang") or {}).items()}
    return {
        "slang": dict(sorted(slang.items())),
        "drop_hashtags": sorted({str(t).casefold() for t in source.get("drop_hashtags") or []}),
        "keep_nya": sorted({str(t).casefold() for t in source.get("keep_nya") or []}),
        "words": sorted({str(t).casefold() for t in source.get("words") or []} | _words_of(slang.values())),
    }


def _normalised(phrase: str, lexicon: Lexicon, where: str) -> str:
    result = " ".join(tokens(str(phrase), lexicon))
    if not result:
        raise TrainingDataError(f"{where}: phrase {phrase!r} has no words after normalisation")
    return result


def compile_keywords(source: dict[str, Any], lexicon: Lexicon, path: Path) -> dict[str, Any]:
    phrases: dict[str, dict[str, float]] = {}
    for category, tiers in (source or {}).items():
        if category not in CATEGORIES:
            raise TrainingDataError(f"{path}: unknown category {category!r} (known: {', '.join(CATEGORIES)})")
        for tier, weight in (("strong", STRONG), ("weak", WEAK)):
            for phrase in (tiers or {}).get(tier) or []:
                key = _normalised(phrase, lexicon, f"{path}: {category}.{tier}")
                slot = phrases.setdefault(key, {})
                slot[category] = max(slot.get(category, 0.0), weight)
    return {"categories": CATEGORIES, "cap": KEYWORD_CAP, "phrases": dict(sorted(phrases.items()))}


def compile_gazetteer(source: dict[str, Any], lexicon: Lexicon, path: Path) -> dict[str, Any]:
    regions: dict[str, str] = {}
    phrases: dict[str, str] = {}
    by_name: dict[str, list[str]] = {}
    needs_cue: dict[str, str] = {}
    for region_id, entry in (source.get("regions") or {}).items():
        if not (region_id.startswith("kab-") or region_id.startswith("kota-")):
            raise TrainingDataError(f"{path}: region id {region_id!r} must start with kab- or kota-")
        regions[region_id] = entry["name"]
        for name in entry.get("names") or []:
            by_name.setdefault(_normalised(name, lexicon, f"{path}: {region_id}"), []).append(region_id)
        for name in entry.get("needs_cue") or []:
            needs_cue[_normalised(name, lexicon, f"{path}: {region_id}")] = region_id
        for town in entry.get("towns") or []:
            key = _normalised(town, lexicon, f"{path}: {region_id}")
            if phrases.get(key, region_id) != region_id:
                raise TrainingDataError(f"{path}: {town!r} is a town of both {phrases[key]} and {region_id}")
            phrases[key] = region_id
    shared: dict[str, dict[str, str]] = {}
    for name, ids in by_name.items():
        if len(ids) == 1:
            phrases.setdefault(name, ids[0])
            continue
        kinds = {region_id.split("-", 1)[0]: region_id for region_id in ids}
        if len(ids) != 2 or set(kinds) != {"kab", "kota"}:
            raise TrainingDataError(
                f"{path}: name {name!r} is shared by {ids}; only a kota/kab pair may share"
            )
        shared[name] = kinds
    return {
        "regions": dict(sorted(regions.items())),
        "phrases": dict(sorted(phrases.items())),
        "shared": dict(sorted(shared.items())),
        "needs_cue": dict(sorted(needs_cue.items())),
        "kab_cues": sorted(_normalised(c, lexicon, str(path)) for c in source.get("kab_cues") or []),
        "cues": sorted(_normalised(c, lexicon, str(path)) for c in source.get("cues") or []),
    }


def compile_sources(config_dir: Path = CONFIG_DIR) -> dict[str, dict[str, Any]]:
    """The layer's routing JSON files (by file name), built from the YAML sources in `config_dir`."""
    slang_src = _read_yaml(config_dir / "slang.yaml") or {}
    keywords_src = _read_yaml(config_dir / "keywords.yaml") or {}
    gazetteer_src = _read_yaml(config_dir / "gazetteer.yaml") or {}
    slang = compile_slang(slang_src)
    # Keyword and place words are known words too (hashtag splitting), and phrases are normalised with
    # the slang table, so they are compiled against it.
    raw_words = _words_of(
        [str(p) for tiers in keywords_src.values() for t in tiers.values() for p in t or []]
    )
    for entry in (gazetteer_src.get("regions") or {}).values():
        raw_words |= _words_of([*(entry.get("names") or []), *(entry.get("towns") or [])])
    slang["words"] = sorted(set(slang["words"]) | {w.casefold() for w in raw_words if w.isalpha()})
    lexicon = Lexicon.from_dict(slang)
    return {
        "slang.json": slang,
        "keywords.json": compile_keywords(keywords_src, lexicon, config_dir / "keywords.yaml"),
        "gazetteer.json": compile_gazetteer(gazetteer_src, lexicon, config_dir / "gazetteer.yaml"),
    }


def dump_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def write_compiled(data_dir: Path, compiled: dict[str, dict[str, Any]]) -> list[Path]:
    written = []
    for name, content in compiled.items():
        path = data_dir / name
        path.write_text(dump_json(content), encoding="utf-8")
        written.append(path)
    return written


# ---------------------------------------------------------------- labelled data


@dataclass(frozen=True)
class Example:
    text: str
    category: str


def read_examples(path: Path) -> list[Example]:
    """Rows `{"text", "category", ...}` of a JSON-lines file; a bad line is an error naming its number."""
    examples = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TrainingDataError(f"{path}: {exc.strerror}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainingDataError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
            raise TrainingDataError(f"{path}:{number}: expected an object with a non-empty 'text' string")
        if row.get("category") not in CATEGORIES:
            raise TrainingDataError(f"{path}:{number}: unknown category {row.get('category')!r}")
        examples.append(Example(row["text"], row["category"]))
    if not examples:
        raise TrainingDataError(f"{path}: no examples")
    return examples


def truncate(text: str, length: int | None) -> str:
    return text if length is None else text[:length]


# ---------------------------------------------------------------- fitting


@dataclass
class Views:
    """Each example at full length and, when longer, at tweet length: the router must work on both."""

    words: list[list[str]]
    labels: list[str]
    groups: list[int]  # the example's index: both views of one complaint stay in one fold
    full: list[bool]  # the example's full text
    tweet: list[bool]  # at most 280 characters

    @classmethod
    def of(cls, examples: Sequence[Example], lexicon: Lexicon) -> Views:
        views = cls([], [], [], [], [])
        for index, example in enumerate(examples):
            texts = [example.text]
            if len(example.text) > TWEET_LENGTH:
                texts.append(example.text[:TWEET_LENGTH])
            for text in texts:
                views.words.append(tokens(text, lexicon))
                views.labels.append(example.category)
                views.groups.append(index)
                views.full.append(text is example.text)
                views.tweet.append(len(text) <= TWEET_LENGTH)
        return views

    def subset(self, rows: Sequence[int]) -> Views:
        return Views(*([column[i] for i in rows] for column in self._columns()))

    def _columns(self) -> tuple[list[Any], ...]:
        return (self.words, self.labels, self.groups, self.full, self.tweet)


def _fit_linear(views: Views) -> tuple[Any, Any]:
    """Vocabulary and idf from full-length views only (a feature must occur in two complaints, not in one
    complaint and its own truncation); the classifier is fitted on every view."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=ngrams, sublinear_tf=True, min_df=MIN_DF, norm="l2")
    vectorizer.fit([ws for ws, is_full in zip(views.words, views.full, strict=True) if is_full])
    model = LogisticRegression(C=LR_C, max_iter=3000, class_weight="balanced", solver="newton-cg")
    model.fit(vectorizer.transform(views.words), views.labels)
    return vectorizer, model


def _keyword_matrix(words: list[list[str]], keywords: Keywords, categories: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(categories)}
    matrix = np.zeros((len(words), len(categories)))
    for row, ws in enumerate(words):
        for category, score in keywords.scores(ws).items():
            matrix[row, index[category]] = score
    return matrix


def combine(
    logits: np.ndarray, keyword_scores: np.ndarray, temperature: float, keyword_weight: float, n_trained: int
) -> np.ndarray:
    """Probabilities over all categories (trained first), exactly as `Classifier.probabilities`."""
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    log_p = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
    n_unseen = keyword_scores.shape[1] - n_trained
    z = np.hstack([log_p, np.full((len(logits), n_unseen), math.log(UNSEEN_PRIOR))])
    weights = np.array([keyword_weight] * n_trained + [UNSEEN_KEYWORD_WEIGHT] * n_unseen)
    z = z + weights * keyword_scores
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return np.asarray(p / p.sum(axis=1, keepdims=True))


def _fit_calibration(
    logits: np.ndarray, keyword_scores: np.ndarray, y: np.ndarray, n_trained: int
) -> tuple[float, float]:
    """Temperature and keyword weight minimising held-out log-loss."""
    best = (math.inf, 1.0, 0.0)
    rows = np.arange(len(y))
    for keyword_weight in KEYWORD_WEIGHTS:
        for temperature in TEMPERATURES:
            p = combine(logits, keyword_scores, temperature, keyword_weight, n_trained)
            loss = float(-np.log(np.clip(p[rows, y], 1e-12, None)).mean())
            if loss < best[0]:
                best = (loss, temperature, keyword_weight)
    return best[1], best[2]


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, target: float = TARGET_PRECISION) -> float:
    """The lowest threshold whose auto-routed tickets are at least `target` accurate (max coverage)."""
    order = np.argsort(-confidence, kind="stable")
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.nonzero(precision >= target)[0]
    return float(round(confidence[order][ok[-1]], 4)) if len(ok) else 1.0


def held_out_scores(views: Views, classes: list[str], fit: Callable[[Views], tuple[Any, Any]]) -> np.ndarray:
    """Linear scores of every view from a model that did not see its complaint (grouped k-fold)."""
    from sklearn.model_selection import GroupKFold

    logits = np.zeros((len(views.words), len(classes)))
    for train_rows, test_rows in GroupKFold(n_splits=FOLDS).split(views.words, views.labels, views.groups):
        vectorizer, model = fit(views.subset([i for i in train_rows if views.labels[i] in classes]))
        fold = model.decision_function(vectorizer.transform(views.subset(test_rows).words))
        seen = list(model.classes_)
        logits[test_rows] = fold.min(axis=1, keepdims=True) - 5.0  # a class absent from the fold: unlikely
        logits[np.ix_(test_rows, [classes.index(c) for c in seen])] = fold
    return logits


def train_model(examples: Sequence[Example], lexicon: Lexicon, keywords: Keywords) -> dict[str, Any]:
    """The JSON model: linear weights on all examples; calibration and threshold from held-out folds."""
    views = Views.of(examples, lexicon)
    support = Counter(example.category for example in examples)
    trained = [c for c in CATEGORIES if support[c] >= MIN_TRAINED_EXAMPLES]
    categories = trained + [c for c in CATEGORIES if c not in set(trained)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        logits = held_out_scores(views, trained, _fit_linear)
    y = np.array([categories.index(label) for label in views.labels])
    keyword_scores = _keyword_matrix(views.words, keywords, categories)
    temperature, keyword_weight = _fit_calibration(logits, keyword_scores, y, len(trained))
    p = combine(logits, keyword_scores, temperature, keyword_weight, len(trained))
    tweet = np.array(views.tweet)  # the threshold must hold on tweet-length text, the harder case
    threshold = choose_threshold(p.max(axis=1)[tweet], (p.argmax(axis=1) == y)[tweet])

    vectorizer, model = _fit_linear(views.subset([i for i, c in enumerate(views.labels) if c in trained]))
    coef = model.coef_[[list(model.classes_).index(c) for c in trained]]
    bias = model.intercept_[[list(model.classes_).index(c) for c in trained]]
    return {
        "format": MODEL_FORMAT,
        "categories": categories,
        "trained_classes": trained,
        "temperature": round(temperature, 4),
        "keyword_weight": round(keyword_weight, 4),
        "unseen_prior": UNSEEN_PRIOR,
        "unseen_keyword_weight": UNSEEN_KEYWORD_WEIGHT,
        "threshold": threshold,
        "bias": [round(float(b), 3) for b in bias],
        "features": [str(f) for f in vectorizer.get_feature_names_out()],
        "idf": [round(float(v), 3) for v in vectorizer.idf_],
        "weights": [[round(float(w), 2) for w in coef[:, j]] for j in range(coef.shape[1])],
        "metadata": {
            "examples": len(examples),
            "lr_c": LR_C,
            "target_precision": TARGET_PRECISION,
            "keyword_led": [c for c in categories if c not in trained],
        },
    }


# ---------------------------------------------------------------- cross-validation (docs/routing.md)


def _baseline_fit(texts: list[str], labels: list[str]) -> tuple[Any, Any]:
    """The issue's baseline: TF-IDF word 1-2-grams + linear SVM, on the raw text, default settings."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    model = LinearSVC()
    model.fit(vectorizer.fit_transform(texts), labels)
    return vectorizer, model


@dataclass(frozen=True)
class BaselineModel:
    """The baseline with a confidence (softmax of its margins, temperature and threshold fitted on
    held-out folds of its training data exactly like ours), so coverage compares like with like."""

    vectorizer: Any
    model: Any
    temperature: float
    threshold: float

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        margins = self.model.decision_function(self.vectorizer.transform(texts))
        p = combine(margins, np.zeros_like(margins), self.temperature, 0.0, margins.shape[1])
        return [(str(self.model.classes_[k]), float(p[i, k])) for i, k in enumerate(p.argmax(axis=1))]


def train_baseline(examples: Sequence[Example]) -> BaselineModel:
    from sklearn.model_selection import KFold

    texts, labels = [e.text for e in examples], [e.category for e in examples]
    classes = sorted(set(labels))
    views = [texts, [truncate(t, TWEET_LENGTH) for t in texts]]
    margins = [np.zeros((len(texts), len(classes))) for _ in views]
    for train_rows, test_rows in KFold(FOLDS, shuffle=True, random_state=SEED).split(texts):
        vectorizer, model = _baseline_fit([texts[i] for i in train_rows], [labels[i] for i in train_rows])
        cols = [classes.index(c) for c in model.classes_]
        for view, out in zip(views, margins, strict=True):
            fold = model.decision_function(vectorizer.transform([view[i] for i in test_rows]))
            out[test_rows] = fold.min(axis=1, keepdims=True) - 5.0
            out[np.ix_(test_rows, cols)] = fold
    y = np.array([classes.index(label) for label in labels] * 2)
    stacked = np.vstack(margins)
    temperature, _ = _fit_calibration(stacked, np.zeros_like(stacked), y, len(classes))
    p = combine(margins[1], np.zeros_like(margins[1]), temperature, 0.0, len(classes))
    threshold = choose_threshold(p.max(axis=1), p.argmax(axis=1) == y[: len(texts)])
    return BaselineModel(*_baseline_fit(texts, labels), temperature, threshold)


def cross_validate(
    examples: Sequence[Example], compiled: dict[str, Any], folds: int = FOLDS, progress: Any = None
) -> str:
    """Model vs baseline in the same stratified folds, at full length and at 280 characters: the markdown
    table of docs/routing.md. Every threshold is chosen inside its training fold, never on the test fold."""
    from kemala.routing.classifier import Classifier
    from kemala.routing.gazetteer import Gazetteer
    from sklearn.model_selection import StratifiedKFold

    from kemala_cli.routing_metrics import Scored, figures, pct

    lexicon = Lexicon.from_dict(compiled["slang.json"])
    keywords = Keywords.from_dict(compiled["keywords.json"])
    gazetteer = Gazetteer.from_dict(compiled["gazetteer.json"])
    lengths: list[int | None] = [None, TWEET_LENGTH]
    rows: dict[tuple[str, int | None], list[Scored]] = {}
    thresholds: dict[str, list[float]] = {"model": [], "baseline": []}
    labels = [e.category for e in examples]
    splitter = StratifiedKFold(folds, shuffle=True, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for fold, (train_rows, test_rows) in enumerate(splitter.split(labels, labels), start=1):
            train = [examples[i] for i in train_rows]
            test = [examples[i] for i in test_rows]
            classifier = Classifier(train_model(train, lexicon, keywords), lexicon, keywords, gazetteer)
            baseline = train_baseline(train)
            thresholds["model"].append(classifier.threshold)
            thresholds["baseline"].append(baseline.threshold)
            for length in lengths:
                texts = [truncate(e.text, length) for e in test]
                for example, text in zip(test, texts, strict=True):
                    p = classifier.probabilities(tokens(text, lexicon))
                    best = max(p, key=p.__getitem__)
                    rows.setdefault(("model", length), []).append(
                        Scored(example.category, best, p[best] >= classifier.threshold)
                    )
                for example, (best, confidence) in zip(test, baseline.predict(texts), strict=True):
                    rows.setdefault(("baseline", length), []).append(
                        Scored(example.category, best, confidence >= baseline.threshold)
                    )
            if progress is not None:
                print(f"fold {fold}/{folds} done", file=progress)
    names = {
        "model": "Kemala (normalised 1-2-grams LR + keywords)",
        "baseline": "TF-IDF 1-2-grams + LinearSVC",
    }
    lines = [
        f"{folds}-fold stratified cross-validation, {len(examples)} complaints (seed {SEED}); thresholds "
        f"chosen per training fold for ≥{TARGET_PRECISION:.0%} held-out accuracy on auto-routed tweets.",
        "",
        "| method | text | accuracy | macro-F1 | threshold (mean) | coverage | accuracy on routed |",
        "|---|---|---|---|---|---|---|",
    ]
    for method in ("model", "baseline"):
        mean_threshold = sum(thresholds[method]) / len(thresholds[method])
        for length in lengths:
            f = figures(rows[(method, length)])
            text = "full" if length is None else f"first {length} chars"
            lines.append(
                f"| {names[method]} | {text} | {pct(f.accuracy)} | {pct(f.macro_f1)} | {mean_threshold:.3f} "
                f"| {pct(f.coverage)} | {pct(f.routed_accuracy)} |"
            )
    return "\n".join(lines)
