"""Periodic checkpoints that live outside Snakemake's declared outputs.

Snakemake deletes the outputs of a failed job, so state saved inside them would be lost exactly when it
is needed. Checkpoints therefore go to `<checkpoint_dir>/<target>/<scale>/<cell>/<config-hash>.pt`;
a re-run of the same job (same resolved config, hence same hash) resumes from there, and a job with a
changed config starts fresh instead of resuming someone else's state.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import torch

from labelrepro.core import atomic


class Checkpointer:
    """Save at most every `every_s` seconds (and when forced); load the last state on start."""

    def __init__(self, directory: str | Path, config_hash: str, every_s: float = 60.0) -> None:
        self.path = Path(directory) / f"{config_hash}.pt"
        self.config_hash = config_hash
        self.every_s = every_s
        self._last_save = time.monotonic()

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is none for this exact config."""
        if not self.path.exists():
            return None
        state = torch.load(self.path, map_location="cpu", weights_only=True)
        if state.get("config_hash") != self.config_hash:
            return None
        return state

    def due(self) -> bool:
        return time.monotonic() - self._last_save >= self.every_s

    def save(self, state: dict[str, Any]) -> None:
        atomic.torch_save(self.path, {**state, "config_hash": self.config_hash})
        self._last_save = time.monotonic()

    def clear(self) -> None:
        """Remove the checkpoint once the run's outputs are safely written.

        Also removes temporary files of a save that was killed mid-write (see `atomic.atomic_path`).
        """
        self.path.unlink(missing_ok=True)
        for leftover in self.path.parent.glob(f"{atomic.partial_prefix(self.path)}*"):
            leftover.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # only succeeds when no other checkpoint is left there
            self.path.parent.rmdir()
