"""The routing data shipped in the layer (kemala/data/*.json), compiled from config/ by the CLI.

Lambda ships only the layer and has no YAML parser, so `kemala routing compile` turns the human-edited
sources in config/ into JSON here; `kemala routing train` writes the model next to them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SLANG_FILE = DATA_DIR / "slang.json"
GAZETTEER_FILE = DATA_DIR / "gazetteer.json"
KEYWORDS_FILE = DATA_DIR / "keywords.json"
MODEL_FILE = DATA_DIR / "model.json"


def read_json(path: str | Path) -> Any:
    with Path(path).open(encoding="utf-8") as fh:
        return json.load(fh)
