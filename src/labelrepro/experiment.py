"""The experiment model: one declarative YAML per target, expanded into cells, runs and jobs.

- A *target* (e.g. `sparsity_fig1`) is `workflow/experiments/<paper>/<target>.yaml`. A file may
  `extends:` another one (a target, or a base whose name starts with `_`): mappings merge key by key,
  anything else (lists, grids, numbers) is replaced. `limit_table5` is `limit_table4` plus its noise rates.
- A *cell* is one grid point of a target (with one seed, or all its seeds when `batch_seeds`); the cell
  names the rows of the target's curves.csv.
- A *run* is what a cell trains: a trainer, its resolved settings (validated by the trainer's settings
  dataclass, defaults dropped), its seeds and the scale. Cells of any targets that resolve to the same
  run share it: it is trained once, into `results/runs/<scale>/<trainer>/<run id>/`, and every target's
  aggregation reads it. A run may need other runs first (LIMIT's FW/DMI start from the CE model); they
  are added to the plan even when no target lists them.
- A *job* is one training process: one run, or (when a scale sets `runs_per_job`) several runs of one
  target trained one after the other, which saves the per-process start-up of tiny smoke-scale runs.

Parsing imports no torch, torchvision or matplotlib: settings dataclasses live in torch-free modules.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelrepro import paths
from labelrepro.core.config import ConfigError, load_yaml, settings_from_dict, validate_against_schema
from labelrepro.core.metadata import config_hash
from labelrepro.registry import AGGREGATORS, RENDERERS, TRAINERS, UnknownNameError

SCALES = ("smoke", "paper")
#: A grid key that is not a setting: the seeds of that grid point (a list), instead of the scale's.
SEEDS_KEY = "seeds"

#: A grid is one mapping (setting -> values, cartesian product) or a list of such mappings, whose
#: products are concatenated: methods with different hyperparameters (LIMIT's per-method grids) need
#: the union of several products rather than one product over every setting.
Grid = dict[str, list[Any]] | list[dict[str, list[Any]]]
EXPERIMENTS_DIR = paths.REPO_ROOT / "workflow" / "experiments"
SCHEMA_DIR = paths.REPO_ROOT / "workflow" / "schemas"


def format_value(value: Any) -> str:
    """A short, path-safe rendering of a grid value for cell names (0.2 -> '0.2', True -> 'true')."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, "g")
    text = re.sub(r"[^A-Za-z0-9.+-]+", "-", str(value)).strip("-")
    return text or "empty"


def cell_name(point: dict[str, Any], seed: int | None = None) -> str:
    """'label_noise-0.2' or 'label_noise-0.2_seed-3'; 'default' for an empty grid."""
    parts = [f"{key}-{format_value(value)}" for key, value in point.items()]
    if seed is not None:
        parts.append(f"seed-{seed}")
    return "_".join(parts) or "default"


def _jsonable(value: Any) -> Any:
    """Tuples as lists, recursively, so a canonical settings dict survives a JSON round trip unchanged."""
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def canonical_settings(trainer: str, settings: dict[str, Any], where: str) -> tuple[Any, dict[str, Any]]:
    """Validate `settings` with the trainer's dataclass; return it and the settings that differ from the
    dataclass defaults (sorted). Two cells with equal canonical settings train the same run, whether a
    value is spelled out or left to its default."""
    cls = TRAINERS[trainer].settings
    validated = settings_from_dict(cls, settings, where)
    canonical: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        value = getattr(validated, f.name)
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        if default is dataclasses.MISSING or _jsonable(value) != _jsonable(default):
            canonical[f.name] = _jsonable(value)
    return validated, dict(sorted(canonical.items()))


@dataclass(frozen=True)
class Run:
    """One trained unit of the DAG, shared by every cell (of any target) that resolves to it."""

    trainer: str
    scale: str
    settings: dict[str, Any]
    seeds: tuple[int, ...]
    inputs: tuple[tuple[str, str], ...] = ()  # (role, run id) of runs this one starts from

    @property
    def id(self) -> str:
        return config_hash(
            {"trainer": self.trainer, "revision": TRAINERS[self.trainer].revision, "scale": self.scale,
             "settings": self.settings, "seeds": list(self.seeds), "inputs": dict(self.inputs)}
        )

    @property
    def dir(self) -> str:
        return paths.run_dir(self.scale, self.trainer, self.id)

    def spec(self, plan: Plan) -> dict[str, Any]:
        """The job spec handed to `python -m labelrepro train` (what to train, never how)."""
        return {
            "trainer": self.trainer,
            "scale": self.scale,
            "settings": self.settings,
            "seeds": list(self.seeds),
            "inputs": {role: plan.run(self.scale, run_id).dir for role, run_id in self.inputs},
        }


@dataclass(frozen=True)
class Cell:
    """One grid point of a target (one seed, or all seeds with `batch_seeds`) and the run it reads."""

    target: str
    scale: str
    name: str
    point: dict[str, Any]
    settings: dict[str, Any]
    seeds: tuple[int, ...]
    run: Run


@dataclass(frozen=True)
class Experiment:
    """A validated experiment description (see workflow/schemas/experiment.schema.yaml)."""

    name: str
    paper: str
    element: str
    kind: str
    trainer: str
    aggregate: str
    render: str
    settings: dict[str, Any]
    grid: Grid
    scales: dict[str, dict[str, Any]]
    cost: dict[str, str]
    source: str = ""
    description: str = ""
    batch_seeds: bool = False
    extra_points: tuple[dict[str, Any], ...] = ()
    presets: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    _cells: dict[str, dict[str, Cell]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def output(self) -> str:
        """The final artifact, relative to the repository root."""
        return paths.figure(self.name) if self.kind == "figure" else paths.table(self.name)

    def seeds(self, scale: str) -> tuple[int, ...]:
        seeds = self.scales[scale]["seeds"]
        return tuple(range(seeds)) if isinstance(seeds, int) else tuple(seeds)

    def resources(self, scale: str) -> dict[str, int]:
        return dict(self.scales[scale]["resources"])

    def runs_per_job(self, scale: str) -> int:
        return int(self.scales[scale].get("runs_per_job", 1))

    def settings_at(self, scale: str) -> dict[str, Any]:
        return {**self.settings, **self.scales[scale].get("settings", {})}

    def grid_at(self, scale: str) -> list[dict[str, list[Any]]]:
        """The scale's grid as a list of sub-grids. A scale's mapping overrides single keys of a mapping
        grid; a list on either side replaces the whole grid."""
        override = self.scales[scale].get("grid")
        if isinstance(self.grid, dict) and (override is None or isinstance(override, dict)):
            return [{**self.grid, **(override or {})}]
        grid = self.grid if override is None else override
        return [grid] if isinstance(grid, dict) else list(grid)

    def points_at(self, scale: str) -> list[dict[str, Any]]:
        """The grid's cartesian product(s) followed by the extra points (the scale's own, if it has any);
        a point listed twice is run once."""
        points: list[dict[str, Any]] = []
        for grid in self.grid_at(scale):
            for values in itertools.product(*grid.values()):
                point = dict(zip(grid.keys(), values, strict=True))
                if point not in points:
                    points.append(point)
        extra = self.scales[scale].get("extra_points", self.extra_points)
        return points + [dict(p) for p in extra if dict(p) not in points]

    def expand(self, point: dict[str, Any]) -> dict[str, Any]:
        """A grid point as settings: a value of a key with `presets` becomes that preset's settings."""
        settings: dict[str, Any] = {}
        for key, value in point.items():
            if key not in self.presets:
                settings[key] = value
            elif value in self.presets[key]:
                settings.update(self.presets[key][value])
            else:
                raise ConfigError(
                    f"{self.source}: grid value {key}: {value!r} names no preset; "
                    f"known {key} presets: {', '.join(map(str, self.presets[key]))}"
                )
        return settings

    def cells(self, scale: str) -> dict[str, Cell]:
        """All cells of this experiment at `scale`, keyed by cell name (grid order preserved)."""
        if scale not in SCALES:
            raise ConfigError(f"unknown scale '{scale}'; use one of {', '.join(SCALES)}")
        if scale in self._cells:
            return self._cells[scale]
        base = self.settings_at(scale)
        seeds = self.seeds(scale)
        cells: dict[str, Cell] = {}
        for point in self.points_at(scale):
            # `seeds` in a grid point overrides the scale's seeds for that point (a figure that reads
            # runs of tables with different seed lists: LIMIT's MNIST splits 42-46, CIFAR's 42)
            own = point.get(SEEDS_KEY)
            settings = {**base, **self.expand({k: v for k, v in point.items() if k != SEEDS_KEY})}
            point_seeds = seeds if own is None else tuple(own)
            for group in [point_seeds] if self.batch_seeds else [(s,) for s in point_seeds]:
                name = cell_name(point, None if self.batch_seeds else group[0])
                run = resolve_run(self.trainer, scale, settings, group, f"{self.source} [{scale}] {name}")
                cells[name] = Cell(self.name, scale, name, point, settings, tuple(group), run)
        self._cells[scale] = cells
        return cells


def resolve_run(trainer: str, scale: str, settings: dict[str, Any], seeds: tuple[int, ...],
                where: str) -> Run:
    """The run that `settings` train; its required runs (`Settings.required_runs()`) resolved too."""
    validated, canonical = canonical_settings(trainer, settings, where)
    required = getattr(validated, "required_runs", lambda: {})()
    inputs = tuple(
        (role, resolve_run(trainer, scale, other, seeds, f"{where} (its {role} run)").id)
        for role, other in sorted(required.items())
    )
    run = Run(trainer, scale, canonical, tuple(seeds), inputs)
    _KNOWN_RUNS[(scale, run.id)] = run
    return run


#: Every run resolved so far, by (scale, id): the required runs that no cell lists live only here.
_KNOWN_RUNS: dict[tuple[str, str], Run] = {}


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key (recursively); every other value of `override` replaces the base's."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read_with_parents(path: Path, files: dict[str, Path], chain: tuple[str, ...] = ()) -> dict[str, Any]:
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: an experiment file is a mapping, got {type(raw).__name__}")
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if parent in chain or parent == path.stem:
        raise ConfigError(f"{path.name}: 'extends: {parent}' makes a cycle ({' -> '.join((*chain, parent))})")
    if parent not in files:
        raise ConfigError(
            f"{path.name}: 'extends: {parent}' names no experiment file; known: {', '.join(sorted(files))}"
        )
    inherited = _read_with_parents(files[parent], files, (*chain, path.stem))
    inherited.pop("name", None)  # a target's name is its own file's
    return _deep_merge(inherited, raw)


def experiment_files(directory: str | Path = EXPERIMENTS_DIR) -> dict[str, Path]:
    """Every experiment file (targets and `_` bases) under `directory`, by file stem."""
    files: dict[str, Path] = {}
    for path in sorted(Path(directory).rglob("*.yaml")):
        if path.stem in files:
            raise ConfigError(f"two experiment files are named {path.stem}: {files[path.stem]} and {path}")
        files[path.stem] = path
    return files


def load_experiment(path: str | Path, files: dict[str, Path] | None = None) -> Experiment:
    """Load one target file (with the files it extends), validate it against the schema, its registered
    trainer, aggregator and renderer, and every cell's settings at both scales."""
    path = Path(path)
    files = files if files is not None else {**experiment_files(path.parent), path.stem: path}
    raw = _read_with_parents(path, files)
    where = path.name
    raw.setdefault("name", path.stem)
    validate_against_schema(raw, SCHEMA_DIR / "experiment.schema.yaml", where)
    if raw["name"] != path.stem:
        raise ConfigError(f"{where}: 'name: {raw['name']}' must match the file name '{path.stem}'")
    try:
        TRAINERS[raw["trainer"]]
        AGGREGATORS[raw["aggregate"]]
        RENDERERS[raw["render"]]
    except UnknownNameError as err:
        raise ConfigError(f"{where}: {err}") from None
    experiment = Experiment(
        name=raw["name"],
        paper=raw["paper"],
        element=raw["element"],
        kind=raw["kind"],
        trainer=raw["trainer"],
        aggregate=raw["aggregate"],
        render=raw["render"],
        settings=raw["settings"],
        grid=raw["grid"],
        scales=raw["scales"],
        cost=raw["cost"],
        source=str(path.relative_to(path.parents[1])) if len(path.parents) > 1 else path.name,
        description=raw.get("description", ""),
        batch_seeds=raw.get("batch_seeds", False),
        extra_points=tuple(raw.get("extra_points", ())),
        presets=raw.get("presets", {}),
    )
    for scale in SCALES:
        experiment.cells(scale)  # validates every cell's settings
    return experiment


def load_experiments(directory: str | Path = EXPERIMENTS_DIR) -> dict[str, Experiment]:
    """Every target under `directory` (files starting with `_` are bases, not targets), by name."""
    files = experiment_files(directory)
    experiments = {}
    for stem, path in files.items():
        if not stem.startswith("_"):
            experiments[stem] = load_experiment(path, files)
    return dict(sorted(experiments.items()))


@dataclass(frozen=True)
class TrainJob:
    """One training process: its runs in training order (a run's required runs come first) and the
    experiment whose resources it uses."""

    name: str
    experiment: str
    runs: tuple[Run, ...]

    @property
    def packed(self) -> bool:
        return len(self.runs) > 1


class Plan:
    """Every distinct run of the loaded experiments at a scale, and how they are grouped into jobs."""

    def __init__(self, experiments: dict[str, Experiment]) -> None:
        self.experiments = experiments
        self._jobs: dict[str, dict[str, TrainJob]] = {}
        self._owner: dict[str, dict[str, str]] = {}
        self._job_of: dict[str, dict[str, TrainJob]] = {}
        self._manifests: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._labels: dict[str, dict[str, str]] = {}

    def run(self, scale: str, run_id: str) -> Run:
        self.jobs(scale)
        return _KNOWN_RUNS[(scale, run_id)]

    def runs(self, scale: str) -> dict[str, Run]:
        """Every run at `scale` (listed by a cell or required by one), by id, in first-use order."""
        found: dict[str, Run] = {}

        def add(run: Run) -> None:
            for _role, other in run.inputs:
                add(_KNOWN_RUNS[(scale, other)])
            found.setdefault(run.id, run)

        for experiment in self.experiments.values():
            for cell in experiment.cells(scale).values():
                add(cell.run)
        return found

    def jobs(self, scale: str) -> dict[str, TrainJob]:
        """Training jobs by name. A run belongs to the first experiment (by name) that lists it, or that
        lists a run requiring it; that experiment's `runs_per_job` packs its runs into jobs."""
        if scale in self._jobs:
            return self._jobs[scale]
        owner: dict[str, str] = {}
        order: dict[str, list[Run]] = {}
        for name, experiment in self.experiments.items():
            for cell in experiment.cells(scale).values():
                for run in _with_requirements(cell.run, scale):
                    if run.id not in owner:
                        owner[run.id] = name
                        order.setdefault(name, []).append(run)
        jobs: dict[str, TrainJob] = {}
        for name, runs in order.items():
            size = self.experiments[name].runs_per_job(scale)
            if size <= 1:
                for run in runs:
                    jobs[run.id] = TrainJob(run.id, name, (run,))
                continue
            for k in range(0, len(runs), size):
                chunk = tuple(runs[k : k + size])
                job_name = f"{name}_{k // size:03d}" if len(chunk) > 1 else chunk[0].id
                jobs[job_name] = TrainJob(job_name, name, chunk)
        self._jobs[scale], self._owner[scale] = jobs, owner
        self._job_of[scale] = {run.id: job for job in jobs.values() for run in job.runs}
        return jobs

    def job_of(self, scale: str, run_id: str) -> TrainJob:
        """The job that trains run `run_id`."""
        self.jobs(scale)
        return self._job_of[scale][run_id]

    def single_runs(self, scale: str) -> list[Run]:
        """Runs trained by a job of their own (matched by the generic training rule)."""
        return [job.runs[0] for job in self.jobs(scale).values() if not job.packed]

    def packed_jobs(self, scale: str) -> list[TrainJob]:
        return [job for job in self.jobs(scale).values() if job.packed]

    def external_inputs(self, scale: str, job: TrainJob) -> list[str]:
        """Run folders a job reads that another job writes (its runs' required runs)."""
        own = {run.id for run in job.runs}
        needed = [other for run in job.runs for _role, other in run.inputs if other not in own]
        return [_KNOWN_RUNS[(scale, run_id)].dir for run_id in dict.fromkeys(needed)]

    def labels(self, scale: str, job: TrainJob) -> list[str]:
        """A readable name per run of a job, for progress lines: the first target/cell that lists it."""
        if scale not in self._labels:
            names: dict[str, str] = {}
            for name, experiment in self.experiments.items():
                for cell in experiment.cells(scale).values():
                    names.setdefault(cell.run.id, f"{name}/{scale}/{cell.name}")
            self._labels[scale] = names
        names = self._labels[scale]
        return [names.get(run.id, f"{run.trainer}/{scale}/{run.id}") for run in job.runs]

    def job_specs(self, scale: str, job: TrainJob) -> list[dict[str, Any]]:
        return [{"spec": run.spec(self), "out": run.dir} for run in job.runs]

    def resources(self, scale: str, job: TrainJob) -> dict[str, int]:
        resources = self.experiments[job.experiment].resources(scale)
        if job.packed:
            resources["runtime"] = resources["runtime"] * len(job.runs)
        return resources

    def datasets(self, job: TrainJob) -> list[str]:
        """The torchvision datasets a job's runs read (None for synthetic data made by the trainer)."""
        return sorted({d for run in job.runs if (d := run_dataset(run)) is not None})

    def manifest(self, target: str, scale: str) -> list[dict[str, Any]]:
        """The cells of a target and the run folder each one reads (the aggregation's input)."""
        key = (target, scale)
        if key not in self._manifests:
            self._manifests[key] = [
                {"cell": cell.name, "point": cell.point, "run": cell.run.dir}
                for cell in self.experiments[target].cells(scale).values()
            ]
        return self._manifests[key]


def run_dataset(run: Run) -> str | None:
    """The dataset a run trains on: its `dataset` setting, else the settings dataclass default."""
    if "dataset" in run.settings:
        return run.settings["dataset"]
    for f in dataclasses.fields(TRAINERS[run.trainer].settings):
        if f.name == "dataset" and f.default is not dataclasses.MISSING:
            return f.default
    return None


def _with_requirements(run: Run, scale: str) -> Iterator[Run]:
    for _role, other in run.inputs:
        yield from _with_requirements(_KNOWN_RUNS[(scale, other)], scale)
    yield run


def spec_json(value: Any) -> str:
    """Compact JSON, as passed on the command line."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
