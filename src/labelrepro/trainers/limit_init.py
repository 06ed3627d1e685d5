"""FW and DMI start from the CE model of the same column: how a cell finds that CE cell.

The official commands train FW and DMI from the best-validation CE checkpoint of the same data (FW also
needs a trained model to estimate the noise transition matrix). In the workflow this is a DAG edge: the
rule of a FW/DMI cell takes the matching CE cell's directory as an input (workflow/rules/limit.smk),
and the CE job saves `seed-<k>/best_model.pt` for each split.

"Matching" means: the CE cell whose settings equal this cell's settings once the method and its
hyperparameters are removed (same data, noise, size, epochs, splits). Both the Snakefile (over the
experiment's cells) and the trainer (over the run folders next to its own) use `match_key`, so they can
not disagree about which CE run is meant.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Settings that distinguish methods of one column; everything else must be equal to share a CE run.
METHOD_KEYS: tuple[str, ...] = ("method", "beta", "sigma", "lam", "lr")
INIT_FROM_CE: tuple[str, ...] = ("fw", "dmi")
BEST_MODEL_FILE = "best_model.pt"


def match_key(settings: Mapping[str, Any]) -> str:
    """A canonical string of the settings that must agree between a FW/DMI cell and its CE cell."""
    shared = {k: v for k, v in settings.items() if k not in METHOD_KEYS}
    return json.dumps(shared, sort_keys=True, default=str)


def ce_cell_for(cells: Mapping[str, Any], cell: str) -> str | None:
    """Name of the CE cell that cell `cell` starts from (None when its method needs none).

    `cells` maps cell names to objects with `.settings` and `.seeds` (labelrepro.experiment.Cell).
    """
    this = cells[cell]
    if this.settings.get("method") not in INIT_FROM_CE:
        return None
    key = match_key(this.settings)
    found = [
        name
        for name, other in cells.items()
        if other.settings.get("method") == "ce" and match_key(other.settings) == key
        and tuple(other.seeds) == tuple(this.seeds)
    ]
    if len(found) != 1:
        raise ValueError(
            f"cell {cell} (method {this.settings['method']}) needs exactly one CE cell with the same data "
            f"settings and seeds to start from, found {len(found)}: add a 'method: ce' point to its grid"
        )
    return found[0]


def find_ce_run(runs_dir: Path, settings: Mapping[str, Any], seed: int) -> Path:
    """The run folder `<cell>/seed-<seed>` of the matching CE cell among the cells in `runs_dir`."""
    key = match_key(settings)
    for meta_path in sorted(runs_dir.glob(f"*/seed-{seed}/meta.json")):
        config = json.loads(meta_path.read_text())["config"]
        if config["settings"].get("method") == "ce" and match_key(config["settings"]) == key:
            if not (meta_path.parent / BEST_MODEL_FILE).exists():
                raise FileNotFoundError(f"{meta_path.parent} has no {BEST_MODEL_FILE}; re-run that CE cell")
            return meta_path.parent
    raise FileNotFoundError(
        f"no CE run with matching settings and seed {seed} under {runs_dir}; FW and DMI start from it "
        "(the workflow builds it first)"
    )


def ce_inputs(experiment: Any, scale: str, cell: str, results_dir: str = "results") -> list[str]:
    """The Snakemake input of a training cell: the run directory of its CE cell, or nothing.

    `experiment` is a labelrepro.experiment.Experiment; the path is train_cell's output,
    results/<target>/<scale>/runs/<cell> (workflow/rules/train.smk).
    """
    ce_cell = ce_cell_for(experiment.cells(scale), cell)
    return [] if ce_cell is None else [f"{results_dir}/{experiment.name}/{scale}/runs/{ce_cell}"]
