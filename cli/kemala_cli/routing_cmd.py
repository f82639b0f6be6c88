"""`kemala routing ...`: compile the routing data, train the classifier, classify stdin, evaluate.

- `compile`  config/{slang,keywords,gazetteer}.yaml -> layers/kemala/kemala/data/*.json (`--check` only
             compares, for CI).
- `train DATA.jsonl [--out PATH]`  compile, then train the model (default: the one shipped in the layer).
- `classify [--threshold T] [--agencies FILE] [--model PATH]`  JSON lines `{"text", "place"?, "id"?}`
             on stdin -> JSON lines `{"id"?, category, confidence, region, agency, decision, reason,
             alternatives}`. A bad line is reported on stderr with its line number and skipped; the other
             lines are still classified, and the command then fails (exit 2) naming the bad lines.
- `eval FILE.jsonl [--truncate N] [--threshold T]`  accuracy, macro-F1, coverage and accuracy on
             auto-routed tickets, overall and per category.
- `crossval DATA.jsonl`  the 5-fold table of docs/routing.md (model vs TF-IDF + LinearSVC baseline).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from kemala_cli.errors import CliError

DEFAULT_AGENCIES = Path(__file__).resolve().parents[2] / "config" / "agencies.yaml"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("routing", help="train, run and evaluate the complaint classifier")
    sub = parser.add_subparsers(dest="routing_command", required=True, metavar="SUBCOMMAND")

    compile_p = sub.add_parser("compile", help="compile config/*.yaml routing data into the layer")
    compile_p.add_argument("--check", action="store_true", help="only report whether the layer is in sync")
    compile_p.set_defaults(func=cmd_compile)

    train = sub.add_parser("train", help="compile the routing data and train the model")
    train.add_argument("data", type=Path, help="labelled JSON lines: {text, category}")
    train.add_argument("--out", type=Path, help="model path (default: the layer's kemala/data/model.json)")
    train.set_defaults(func=cmd_train)

    classify = sub.add_parser("classify", help="classify JSON lines {text, place?} from stdin")
    classify.add_argument("--threshold", type=_probability, help="auto-routing threshold (default: model's)")
    classify.add_argument("--agencies", type=Path, default=DEFAULT_AGENCIES, help="agency registry YAML")
    classify.add_argument("--model", type=Path, help="model path (default: the shipped model)")
    classify.set_defaults(func=cmd_classify)

    evaluate = sub.add_parser("eval", help="accuracy, macro-F1 and coverage on labelled JSON lines")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--truncate", type=int, metavar="N", help="score only the first N characters")
    evaluate.add_argument("--threshold", type=_probability, help="auto-routing threshold (default: model's)")
    evaluate.add_argument("--model", type=Path, help="model path (default: the shipped model)")
    evaluate.set_defaults(func=cmd_eval)

    crossval = sub.add_parser("crossval", help="5-fold cross-validation against the baseline (slow)")
    crossval.add_argument("data", type=Path)
    crossval.add_argument("--folds", type=int, default=5)
    crossval.set_defaults(func=cmd_crossval)


def _probability(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1")
    return number


def _load_classifier(path: Path | None) -> Any:
    from kemala.routing.classifier import Classifier

    try:
        return Classifier.load(path)
    except FileNotFoundError as exc:
        raise CliError(f"no model at {exc.filename}; run `kemala routing train DATA.jsonl`") from None
    except (ValueError, KeyError) as exc:
        raise CliError(f"{path or 'the shipped model'} is not a usable model: {exc}") from None


def cmd_compile(args: argparse.Namespace) -> int:
    from kemala.routing.resources import DATA_DIR

    from kemala_cli import routing_train

    compiled = _compile()
    if args.check:
        stale = [
            name
            for name, content in compiled.items()
            if not (DATA_DIR / name).exists()
            or (DATA_DIR / name).read_text(encoding="utf-8") != routing_train.dump_json(content)
        ]
        if stale:
            raise CliError(f"out of sync with config/: {', '.join(stale)}; run `kemala routing compile`")
        print("routing data in sync with config/")
        return 0
    for path in routing_train.write_compiled(DATA_DIR, compiled):
        print(f"wrote {path}")
    return 0


def _compile() -> dict[str, Any]:
    from kemala_cli import routing_train

    try:
        return routing_train.compile_sources()
    except routing_train.TrainingDataError as exc:
        raise CliError(str(exc)) from None


def _examples(path: Path) -> list[Any]:
    from kemala_cli import routing_train

    try:
        return routing_train.read_examples(path)
    except routing_train.TrainingDataError as exc:
        raise CliError(str(exc)) from None


def cmd_train(args: argparse.Namespace) -> int:
    from kemala.routing.keywords import Keywords
    from kemala.routing.normalize import Lexicon
    from kemala.routing.resources import DATA_DIR, MODEL_FILE

    from kemala_cli import routing_train

    compiled = _compile()
    examples = _examples(args.data)
    routing_train.write_compiled(DATA_DIR, compiled)
    model = routing_train.train_model(
        examples, Lexicon.from_dict(compiled["slang.json"]), Keywords.from_dict(compiled["keywords.json"])
    )
    out: Path = args.out or MODEL_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(
        f"wrote {out}: {len(examples)} examples, {len(model['features'])} features, "
        f"temperature {model['temperature']}, keyword weight {model['keyword_weight']}, "
        f"threshold {model['threshold']}"
    )
    return 0


def _registry(path: Path) -> Any:
    from kemala.routing.registry import Registry

    if not path.exists():
        raise CliError(f"agency registry {path} not found (pass --agencies FILE)")
    try:
        return Registry.from_yaml(path)
    except (ValueError, OSError) as exc:
        raise CliError(f"{path}: {exc}") from None


def _request(line: str) -> tuple[str, str | None, Any]:
    """(text, place, id) of one stdin line, or ValueError saying what is wrong with it."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise ValueError("expected a JSON object with a 'text' field")
    text, place = row.get("text"), row.get("place")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'text' must be a non-empty string")
    if place is not None and not isinstance(place, str):
        raise ValueError("'place' must be a string when given")
    return text, place, row.get("id")


def classify_stream(
    source: TextIO, sink: TextIO, errors: TextIO, classifier: Any, registry: Any, threshold: float
) -> list[int]:
    """Classify every line of `source` onto `sink`; returns the numbers of the bad lines."""
    from kemala.routing.decide import decide

    bad = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            text, place, request_id = _request(line)
        except ValueError as exc:
            print(f"kemala: line {number}: {exc}", file=errors)
            bad.append(number)
            continue
        result = decide(classifier.classify(text, place), registry, threshold).model_dump(mode="json")
        if request_id is not None:
            result = {"id": request_id, **result}
        sink.write(json.dumps(result, ensure_ascii=False) + "\n")
    return bad


def cmd_classify(args: argparse.Namespace) -> int:
    classifier = _load_classifier(args.model)
    registry = _registry(args.agencies)
    threshold = classifier.threshold if args.threshold is None else args.threshold
    bad = classify_stream(sys.stdin, sys.stdout, sys.stderr, classifier, registry, threshold)
    if bad:
        shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
        raise CliError(f"{len(bad)} bad input line(s) skipped: {shown}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from kemala.routing.normalize import tokens

    from kemala_cli import routing_train
    from kemala_cli.routing_metrics import Scored, report

    if args.truncate is not None and args.truncate < 1:
        raise CliError("--truncate must be a positive number of characters")
    classifier = _load_classifier(args.model)
    examples = _examples(args.file)
    threshold = classifier.threshold if args.threshold is None else args.threshold
    rows = []
    for example in examples:
        text = routing_train.truncate(example.text, args.truncate)
        probabilities = classifier.probabilities(tokens(text, classifier.lexicon))
        predicted = max(probabilities, key=probabilities.__getitem__)
        rows.append(Scored(example.category, predicted, probabilities[predicted] >= threshold))
    print(f"{args.file} ({'full length' if args.truncate is None else f'first {args.truncate} characters'})")
    print(report(rows, threshold))
    return 0


def cmd_crossval(args: argparse.Namespace) -> int:
    from kemala_cli import routing_train

    if args.folds < 2:
        raise CliError("--folds must be at least 2")
    examples = _examples(args.data)
    print(routing_train.cross_validate(examples, _compile(), folds=args.folds, progress=sys.stderr))
    return 0
