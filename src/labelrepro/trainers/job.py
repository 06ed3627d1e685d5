"""What a training job receives and how it writes its runs.

A job trains the seeds of one cell. Its output directory holds one folder per run:
`seed-<k>/metrics.csv` (the per-step/per-epoch metrics) and `seed-<k>/meta.json` (resolved config, seed,
config hash, git commit, package versions, device, wall time). The whole directory appears atomically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from labelrepro.core import atomic
from labelrepro.core.checkpoint import Checkpointer
from labelrepro.core.device import describe_device, resolve_device
from labelrepro.core.metadata import config_hash, run_metadata
from labelrepro.core.progress import Progress
from labelrepro.core.seeding import seed_everything, set_deterministic


@dataclass(frozen=True)
class Runtime:
    """Run-time options from the workflow config: they change where and how a job runs, not its result."""

    device: str = "auto"
    deterministic: bool = False
    data_dir: str = "data"
    download: bool = True
    verify_data: bool = True
    checkpoint_dir: str = ".checkpoints"
    checkpoint_every_s: float = 60.0
    progress: str = "auto"
    torch_threads: int = 0


@dataclass
class Job:
    """One cell of an experiment: its spec (what to train) and the runtime (how)."""

    spec: dict[str, Any]
    runtime: Runtime
    out_dir: Path
    device: torch.device = field(init=False)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.device = resolve_device(self.runtime.device, Path(self.runtime.checkpoint_dir) / ".gpu-locks")
        self.started = time.monotonic()
        if self.runtime.torch_threads:
            torch.set_num_threads(self.runtime.torch_threads)
        set_deterministic(self.runtime.deterministic)
        seed_everything(min(self.seeds))

    @property
    def label(self) -> str:
        return f"{self.spec['target']}/{self.spec['scale']}/{self.spec['cell']}"

    @property
    def seeds(self) -> list[int]:
        return list(self.spec["seeds"])

    @property
    def hash(self) -> str:
        return config_hash(self.spec)

    def checkpointer(self) -> Checkpointer:
        directory = Path(self.runtime.checkpoint_dir) / self.spec["target"] / self.spec["scale"]
        return Checkpointer(directory / self.spec["cell"], self.hash, self.runtime.checkpoint_every_s)

    def progress(self, total: int, unit: str, start: int = 0) -> Progress:
        return Progress(total=total, label=self.label, unit=unit, mode=self.runtime.progress, start=start)

    def run_config(self, seed: int) -> dict[str, Any]:
        """The resolved configuration of one run (what its config hash covers)."""
        return {
            "target": self.spec["target"],
            "scale": self.spec["scale"],
            "cell": self.spec["cell"],
            "trainer": self.spec["trainer"],
            "point": self.spec["point"],
            "settings": self.spec["settings"],
            "seed": seed,
        }

    def write_runs(
        self,
        metrics: dict[int, pd.DataFrame],
        extra: dict[str, Any] | None = None,
        files: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        """Write every run's metrics, metadata and extra files; the job's directory appears only when all
        are written. Extra files are tables (a DataFrame, written as CSV: e.g. the random labels a run
        drew) or, for names ending in `.pt`, objects for `torch.save` (e.g. a best model that later jobs
        start from)."""
        wall = time.monotonic() - self.started
        with atomic.atomic_directory(self.out_dir) as staging:
            for seed, frame in metrics.items():
                run_dir = staging / f"seed-{seed}"
                run_dir.mkdir()
                frame.to_csv(run_dir / "metrics.csv", index=False)
                for name, content in (files or {}).get(seed, {}).items():
                    if name.endswith(".pt"):
                        torch.save(content, run_dir / name)
                    else:
                        content.to_csv(run_dir / name, index=False)
                record = run_metadata(
                    config=self.run_config(seed),
                    seed=seed,
                    device=describe_device(self.device),
                    wall_time_s=wall,
                    extra={
                        "job_seeds": self.seeds,
                        "job_config_hash": self.hash,
                        "data_dir": self.runtime.data_dir,
                        **(extra or {}),
                    },
                )
                atomic.write_json(run_dir / "meta.json", record)
