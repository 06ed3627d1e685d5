"""Aggregation: gather the runs of one target's cells into two tidy tables.

`curves.csv`: every row of every run's metrics, with the cell's name and grid values as columns.
`aggregate.csv`: what the target's aggregator (registered by name) makes of them; `final_per_run`, the
default, keeps the last recorded row of every run.

A target reads its cells' run folders wherever they were trained: two targets that list the same run
(same trainer and resolved settings) read the same folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from labelrepro.core import atomic
from labelrepro.registry import AGGREGATORS


def read_runs(manifest: list[dict[str, Any]]) -> pd.DataFrame:
    """All runs' metrics of the cells in `manifest` ({cell, point, run}), tagged with cell and point."""
    frames = []
    for entry in manifest:
        run_dir = Path(entry["run"])
        seed_dirs = sorted(run_dir.glob("seed-*"))
        if not seed_dirs:
            raise FileNotFoundError(f"{run_dir} holds no seed-*/ run folders; re-run its training job")
        for seed_dir in seed_dirs:
            frame = pd.read_csv(seed_dir / "metrics.csv")
            meta = json.loads((seed_dir / "meta.json").read_text())
            frame.insert(0, "cell", entry["cell"])
            for i, (key, value) in enumerate(entry["point"].items(), start=1):
                frame.insert(i, key, value)
            frame["config_hash"] = meta["config_hash"]
            frame["run"] = run_dir.name
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@AGGREGATORS.register("final_per_run")
def final_per_run(curves: pd.DataFrame) -> pd.DataFrame:
    """The last recorded row of every run (largest step/epoch)."""
    order = "step" if "step" in curves.columns else "epoch"
    last = curves.sort_values(order).groupby(["cell", "seed"], sort=False).tail(1)
    return last.sort_values(["cell", "seed"]).reset_index(drop=True)


def aggregate(name: str, manifest: list[dict[str, Any]], curves_out: str | Path,
              aggregate_out: str | Path) -> None:
    """Write curves.csv (all rows) and aggregate.csv (the aggregator's summary) for one target."""
    aggregator = AGGREGATORS[name]
    curves = read_runs(manifest)
    atomic.write_csv(curves_out, curves)
    atomic.write_csv(aggregate_out, aggregator(curves))
