"""Aggregation: gather the per-run CSVs of an experiment into two tidy tables.

`curves.csv`: every row of every run's metrics, with the cell's grid values as columns.
`aggregate.csv`: one row per run (its last recorded row), the numbers a figure or table reports.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from labelrepro.aggregate_limit import limit_selection
from labelrepro.core import atomic


def read_runs(cell_dirs: list[str | Path]) -> pd.DataFrame:
    """All runs' metrics of the given cell directories, tagged with cell name and grid point."""
    frames = []
    for cell_dir in map(Path, cell_dirs):
        run_dirs = sorted(cell_dir.glob("seed-*"))
        if not run_dirs:
            raise FileNotFoundError(f"{cell_dir} holds no seed-*/ run folders; re-run its training job")
        for run_dir in run_dirs:
            frame = pd.read_csv(run_dir / "metrics.csv")
            meta = json.loads((run_dir / "meta.json").read_text())
            point = meta["config"]["point"]
            frame.insert(0, "cell", cell_dir.name)
            for i, (key, value) in enumerate(point.items(), start=1):
                frame.insert(i, key, value)
            frame["config_hash"] = meta["config_hash"]
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def final_per_run(curves: pd.DataFrame) -> pd.DataFrame:
    """The last recorded row of every run (largest step/epoch)."""
    order = "step" if "step" in curves.columns else "epoch"
    last = curves.sort_values(order).groupby(["cell", "seed"], sort=False).tail(1)
    return last.sort_values(["cell", "seed"]).reset_index(drop=True)


AGGREGATORS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "final_per_run": final_per_run,
    "limit_selection": limit_selection,
}


def aggregate(
    name: str, cell_dirs: list[str | Path], curves_out: str | Path, aggregate_out: str | Path
) -> None:
    """Write curves.csv (all rows) and aggregate.csv (the aggregator's summary) for one experiment."""
    if name not in AGGREGATORS:
        raise ValueError(f"unknown aggregator '{name}'; known: {', '.join(sorted(AGGREGATORS))}")
    curves = read_runs(cell_dirs)
    atomic.write_csv(curves_out, curves)
    atomic.write_csv(aggregate_out, AGGREGATORS[name](curves))
