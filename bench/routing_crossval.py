"""The figures of docs/routing.md: 5-fold cross-validation of the classifier against the TF-IDF word
1-2-gram + LinearSVC baseline on ../shared/data/complaints/train.jsonl, full length and 280 characters.
The same as `kemala routing crossval ../shared/data/complaints/train.jsonl` (about 2 minutes on 2 cores)."""

from __future__ import annotations

import sys
from pathlib import Path

from kemala_cli import routing_cmd
from kemala_cli.main import CliError

TRAIN = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "complaints" / "train.jsonl"

if __name__ == "__main__":
    import argparse

    try:
        sys.exit(routing_cmd.cmd_crossval(argparse.Namespace(data=TRAIN, folds=5)))
    except CliError as exc:
        sys.exit(f"kemala: error: {exc}")
