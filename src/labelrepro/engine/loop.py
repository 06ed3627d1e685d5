"""The one training loop: every trainer supplies a `Run` (set-up, one unit of training, its state and
its outputs); this module does the rest the same way for all of them.

    checkpoint load -> resume -> [advance one unit -> progress -> checkpoint when due]* -> atomic write
    of the run folder -> checkpoint clean-up

A unit is an epoch, or a period of SGD steps for the tiny seed-003 networks. A `Run` trains either all
seeds of its job at once (`batch_seeds = True`: batched tensors) or one seed; in the second case the
loop trains the job's seeds one after the other, and a finished seed's outputs are part of the
checkpoint, so a killed job resumes inside the seed it was training. Resumed runs end with exactly the
numbers of uninterrupted ones (on CPU), because each `Run.state_dict` holds every tensor and random
stream that its next unit reads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from labelrepro.core.config import settings_from_dict
from labelrepro.engine.job import Job
from labelrepro.registry import TRAINERS


@dataclass
class SeedOutput:
    """What one seed's run leaves behind: metrics rows, extra files, extra metadata."""

    rows: list[dict[str, Any]]
    files: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_state(self) -> dict[str, Any]:
        return {"rows": self.rows, "files": self.files, "extra": self.extra}


def set_generator_states(generators: list[Any], states: list[Any]) -> None:
    """Restore checkpointed random streams (torch.Generator states) in order; lengths must match."""
    for generator, state in zip(generators, states, strict=True):
        generator.set_state(state)


def split_by_seed(
    rows: list[dict[str, Any]], seeds: list[int], extra: dict[str, Any]
) -> dict[int, SeedOutput]:
    """A batched run's rows (each with a `seed` column) as one SeedOutput per seed, sharing `extra`."""
    return {seed: SeedOutput(rows=[row for row in rows if row["seed"] == seed], extra=extra)
            for seed in seeds}


class Run(ABC):
    """One training run of a trainer, driven unit by unit by `train`.

    Subclasses build everything in `__init__(job, seeds)` (data, networks, optimisers, random streams,
    in the order that fixes the numbers), set `total` (units to train) and keep `position` (units done).
    """

    unit: ClassVar[str] = "epoch"
    #: True: one Run trains all seeds of the job together; False: one Run per seed.
    batch_seeds: ClassVar[bool] = False

    total: int
    position: int = 0
    #: The job's settings as its trainer's settings dataclass (a bad key fails naming the job).
    settings: Any

    def __init__(self, job: Job, seeds: list[int]) -> None:
        self.job = job
        self.seeds = seeds
        self.settings = settings_from_dict(TRAINERS[job.spec["trainer"]].settings, job.spec["settings"],
                                           job.label)

    def finished(self) -> bool:
        """True when no unit is left (a subclass may stop early, e.g. on validation accuracy)."""
        return self.position >= self.total

    @abstractmethod
    def advance(self) -> dict[str, float]:
        """Train one unit (and evaluate); returns the metrics to show in the progress line."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything the next unit reads (networks, optimiser, random streams, rows so far)."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    @abstractmethod
    def outputs(self) -> dict[int, SeedOutput]:
        """Per seed: its metrics rows, extra files and metadata (called once training has finished)."""


def train(job: Job) -> None:
    """Train the job's run(s) through its trainer's `Run`, resumably, and write the run folder."""
    run_cls: type[Run] = TRAINERS[job.spec["trainer"]].load().RUN
    groups = [job.seeds] if run_cls.batch_seeds else [[seed] for seed in job.seeds]
    checkpointer = job.checkpointer()
    saved = checkpointer.load() or {}
    done: dict[int, dict[str, Any]] = saved.get("done", {})
    current = saved.get("current")
    progress = None
    for index, seeds in enumerate(groups):
        if index in done:
            continue
        run = run_cls(job, seeds)
        if progress is None:
            start = len(done) * run.total
            progress = job.progress(total=run.total * len(groups), unit=run.unit, start=start)
        if current is not None and current["group"] == index:
            run.load_state_dict(current["state"])
            progress.update(run.position)
            progress.message(f"resumed from checkpoint at {run.unit} {run.position} ({checkpointer.path})")

        def save(run: Run = run, index: int = index) -> None:
            checkpointer.save({"done": done, "current": {"group": index, "state": run.state_dict()}})

        while not run.finished():
            metrics = run.advance()
            run.position += 1
            progress.update(1, **metrics)
            if checkpointer.due() or run.finished():
                save()
        progress.update(run.total - run.position)  # units skipped by early stopping
        done[index] = {seed: output.as_state() for seed, output in run.outputs().items()}
        if index + 1 < len(groups):
            checkpointer.save({"done": done, "current": None})
    if progress is not None:
        progress.close()
    outputs = {seed: out for index in range(len(groups)) for seed, out in done[index].items()}
    extra: dict[str, Any] = {}
    for out in outputs.values():
        extra.update(out["extra"])
    job.write_runs(
        {seed: pd.DataFrame(out["rows"]) for seed, out in outputs.items()},
        extra=extra,
        files={seed: out["files"] for seed, out in outputs.items() if out["files"]},
    )
    checkpointer.clear()
