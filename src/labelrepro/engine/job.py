"""What a training job receives and how it writes its runs.

A job trains the seeds of one *run* (a trainer and its resolved settings at a scale; the workflow trains
each distinct run once, whatever targets list it). Its output directory holds one folder per seed:
`seed-<k>/metrics.csv` (per-epoch or per-period metrics) and `seed-<k>/meta.json` (resolved config,
seed, config hash, git commit, package versions, device, wall time). The directory appears atomically.
"""

from __future__ import annotations

import functools
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
from labelrepro.engine.runtime import Runtime


@functools.cache
def _device(spec: str, lock_dir: str) -> torch.device:
    """One device per process: a job that trains several runs claims its GPU once."""
    return resolve_device(spec, Path(lock_dir))


@dataclass
class Job:
    """One run to train: its spec (what), the runtime (how) and its output directory (where)."""

    spec: dict[str, Any]
    runtime: Runtime
    out_dir: Path
    label: str = ""
    device: torch.device = field(init=False)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        self.label = self.label or f"{self.spec['trainer']}/{self.spec['scale']}/{self.out_dir.name}"
        self.device = _device(self.runtime.device, str(Path(self.runtime.checkpoint_dir) / ".gpu-locks"))
        self.started = time.monotonic()
        if self.runtime.torch_threads:
            torch.set_num_threads(self.runtime.torch_threads)
        set_deterministic(self.runtime.deterministic)
        seed_everything(min(self.seeds))

    @property
    def seeds(self) -> list[int]:
        return list(self.spec["seeds"])

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.spec["settings"])

    @property
    def inputs(self) -> dict[str, str]:
        """Run folders this run starts from (e.g. LIMIT's FW/DMI: the CE run), by role."""
        return dict(self.spec.get("inputs", {}))

    @property
    def hash(self) -> str:
        return config_hash(self.spec)

    def checkpointer(self) -> Checkpointer:
        directory = Path(self.runtime.checkpoint_dir) / self.spec["trainer"] / self.spec["scale"]
        return Checkpointer(directory / self.out_dir.name, self.hash, self.runtime.checkpoint_every_s)

    def progress(self, total: int, unit: str, start: int = 0) -> Progress:
        return Progress(total=total, label=self.label, unit=unit, mode=self.runtime.progress, start=start)

    def run_config(self, seed: int) -> dict[str, Any]:
        """The resolved configuration of one seed's run (what its config hash covers)."""
        return {
            "trainer": self.spec["trainer"],
            "scale": self.spec["scale"],
            "settings": self.spec["settings"],
            "inputs": self.inputs,
            "seed": seed,
        }

    def write_runs(
        self,
        metrics: dict[int, pd.DataFrame],
        extra: dict[str, Any] | None = None,
        files: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        """Write every seed's metrics, metadata and extra files; the job's directory appears only when all
        are written. Extra files are tables (a DataFrame or a dict of columns, written as CSV: e.g. the
        random labels a run drew) or, for names ending in `.pt`, objects for `torch.save` (e.g. a best
        model that later runs start from)."""
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
                        pd.DataFrame(content).to_csv(run_dir / name, index=False)
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
