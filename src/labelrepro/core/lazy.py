"""Deferred import of a module (the standard library's `importlib.util.LazyLoader` recipe).

A paper's method table declares names, labels and hyperparameters that the Snakefile reads at parse
time, next to the implementations that training jobs call. The implementations need torch; importing
their loss module lazily lets the table be read without it, while each method still reads top to
bottom in one place.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_import(name: str) -> ModuleType:
    """`name`, executed on first attribute access (or the module itself when already imported)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
