"""The experiment model: one declarative YAML per target, expanded into training jobs.

A target (e.g. `sparsity_fig1`) is a grid of settings × seeds at a scale. Each grid point becomes one
*cell*; a cell is one Snakemake training job (all its seeds batched together when the experiment sets
`batch_seeds`, otherwise one cell per seed). Jobs write `results/<target>/<scale>/<cell>/seed-<k>/`,
an aggregation step gathers them into `results/<target>/<scale>/{aggregate,curves}.csv`, and a renderer
draws `figures/<target>.pdf` or `paper/tables/<target>.tex`.

Everything a job needs is in its *job spec* (a JSON document handed to `python -m labelrepro train`),
so a job is reproducible from its command line alone and Snakemake re-runs it when the spec changes.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelrepro.config import ConfigError, load_yaml, settings_from_dict, validate_against_schema
from labelrepro.core.metadata import config_hash

SCALES = ("smoke", "paper")

#: A grid is one mapping (setting -> values, cartesian product) or a list of such mappings, whose
#: products are concatenated: methods with different hyperparameters (LIMIT's per-method grids) need
#: the union of several products rather than one product over every setting.
Grid = dict[str, list[Any]] | list[dict[str, list[Any]]]
REPO_ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS_DIR = REPO_ROOT / "workflow" / "experiments"
SCHEMA_DIR = REPO_ROOT / "workflow" / "schemas"


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


@dataclass(frozen=True)
class Cell:
    """One training job: a grid point and the seeds it trains."""

    target: str
    scale: str
    name: str
    trainer: str
    point: dict[str, Any]
    settings: dict[str, Any]
    seeds: tuple[int, ...]

    def spec(self) -> dict[str, Any]:
        """The job spec (without run-time options such as the device)."""
        return {
            "target": self.target,
            "scale": self.scale,
            "cell": self.name,
            "trainer": self.trainer,
            "point": self.point,
            "settings": self.settings,
            "seeds": list(self.seeds),
        }

    @property
    def hash(self) -> str:
        return config_hash(self.spec())


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
    description: str = ""
    batch_seeds: bool = False
    extra_points: tuple[dict[str, Any], ...] = ()
    _cells: dict[str, dict[str, Cell]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def output(self) -> str:
        """The final artifact, relative to the repository root."""
        return f"figures/{self.name}.pdf" if self.kind == "figure" else f"paper/tables/{self.name}.tex"

    def seeds(self, scale: str) -> tuple[int, ...]:
        seeds = self.scales[scale]["seeds"]
        return tuple(range(seeds)) if isinstance(seeds, int) else tuple(seeds)

    def resources(self, scale: str) -> dict[str, int]:
        return dict(self.scales[scale]["resources"])

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

    def cells(self, scale: str) -> dict[str, Cell]:
        """All training jobs of this experiment at `scale`, keyed by cell name (grid order preserved)."""
        if scale not in SCALES:
            raise ConfigError(f"unknown scale '{scale}'; use one of {', '.join(SCALES)}")
        if scale in self._cells:
            return self._cells[scale]
        base = self.settings_at(scale)
        seeds = self.seeds(scale)
        cells: dict[str, Cell] = {}
        for point in self.points_at(scale):
            settings = {**base, **point}
            seed_groups = [seeds] if self.batch_seeds else [(s,) for s in seeds]
            for group in seed_groups:
                name = cell_name(point, None if self.batch_seeds else group[0])
                cells[name] = Cell(self.name, scale, name, self.trainer, point, settings, tuple(group))
        self._cells[scale] = cells
        return cells

    def run_dirs(self, scale: str, results_dir: str = "results") -> list[str]:
        return [f"{results_dir}/{self.name}/{scale}/runs/{name}" for name in self.cells(scale)]


def load_experiment(path: str | Path) -> Experiment:
    """Load one experiment file, validate it against the schema and its trainer's settings."""
    path = Path(path)
    raw = load_yaml(path)
    where = f"{path.name}"
    validate_against_schema(raw, SCHEMA_DIR / "experiment.schema.yaml", where)
    if raw["name"] != path.stem:
        raise ConfigError(f"{where}: 'name: {raw['name']}' must match the file name '{path.stem}'")
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
        description=raw.get("description", ""),
        batch_seeds=raw.get("batch_seeds", False),
        extra_points=tuple(raw.get("extra_points", ())),
    )
    _check_registered(experiment, where)
    for scale in SCALES:
        for cell in experiment.cells(scale).values():
            validate_settings(experiment.trainer, cell.settings, f"{where} [{scale}] {cell.name}")
    return experiment


def _check_registered(experiment: Experiment, where: str) -> None:
    from labelrepro.aggregate import AGGREGATORS
    from labelrepro.render import RENDERERS
    from labelrepro.trainers import TRAINERS

    for kind, name, registry in (
        ("trainer", experiment.trainer, TRAINERS),
        ("aggregate", experiment.aggregate, AGGREGATORS),
        ("render", experiment.render, RENDERERS),
    ):
        if name not in registry:
            raise ConfigError(f"{where}: unknown {kind} '{name}'; known: {', '.join(sorted(registry))}")


def validate_settings(trainer: str, settings: dict[str, Any], where: str) -> Any:
    from labelrepro.trainers import get_trainer

    return settings_from_dict(get_trainer(trainer).Settings, settings, where)


def load_experiments(directory: str | Path = EXPERIMENTS_DIR) -> dict[str, Experiment]:
    """Every experiment under `directory`, keyed by target name."""
    experiments = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        experiment = load_experiment(path)
        experiments[experiment.name] = experiment
    return experiments


def job_spec_json(cell: Cell) -> str:
    """Compact JSON of the job spec, as passed on the command line."""
    return json.dumps(cell.spec(), sort_keys=True, separators=(",", ":"))
