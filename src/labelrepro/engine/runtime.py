"""Run-time options: where and how a job runs (device, checkpoints, progress, threads), never what it
computes. This dataclass is the single source of their names and defaults: `workflow/config/config.yaml`
sets the same values (a test checks it), the workflow hands exactly these keys to every training job,
and changing one never re-trains a run (the workflow passes them untracked)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Runtime:
    device: str = "auto"
    deterministic: bool = False
    data_dir: str = "data"
    download: bool = True
    verify_data: bool = True
    checkpoint_dir: str = ".checkpoints"
    checkpoint_every_s: float = 60.0
    progress: str = "auto"
    torch_threads: int = 1


RUNTIME_KEYS: tuple[str, ...] = tuple(f.name for f in fields(Runtime))
