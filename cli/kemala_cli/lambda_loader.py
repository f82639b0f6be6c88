"""Importing a function's `functions/<name>/app.py` as its own module (they are all called `app`)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from kemala_cli.cfn import PROJECT_ROOT


def load_function(name: str, fresh: bool = True) -> ModuleType:
    """Import functions/<name>/app.py as module `kemala_fn_<name>`; `fresh` re-runs its cold start."""
    module_name = f"kemala_fn_{name}"
    if not fresh and module_name in sys.modules:
        return sys.modules[module_name]
    path = PROJECT_ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"no function at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
