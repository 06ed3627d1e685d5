"""Trainer registry: experiment files name a trainer; each trainer module provides `Settings` and `train`.

Modules are imported lazily so that parsing the Snakefile does not import every model definition.
"""

from __future__ import annotations

import importlib
from types import ModuleType

TRAINERS: dict[str, str] = {
    "alasca": "labelrepro.trainers.alasca",
    "hypercube": "labelrepro.trainers.hypercube",
    "random_labels": "labelrepro.trainers.random_labels",
    "limit": "labelrepro.trainers.limit",
}


def get_trainer(name: str) -> ModuleType:
    """The trainer module registered under `name` (with `Settings` dataclass and `train(job)`)."""
    if name not in TRAINERS:
        raise ValueError(f"unknown trainer '{name}'; known trainers: {', '.join(sorted(TRAINERS))}")
    return importlib.import_module(TRAINERS[name])
