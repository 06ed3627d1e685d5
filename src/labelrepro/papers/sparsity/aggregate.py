"""Aggregation of seed 003's runs at the paper's stopping point.

Every run trains for all of `steps`; its metrics rows carry `stop_step`, the step at which it first met
the stopping rule (`stopping.py`: zero clean training error, then a stable test error), empty when it
never did. `at_stopping_step` keeps, per run, the row at its `stop_step` (`stop_met` true), or its last
row when the rule was never met (`stop_met` false, so such runs are visible rather than silently
reported at the end). The run's last row is kept alongside as `last_step` and `<metric>_last`, so the
aggregate also holds the fixed-length numbers.
"""

from __future__ import annotations

import pandas as pd

from labelrepro.registry import AGGREGATORS

#: Metrics also reported at each run's last step.
LAST_COLUMNS = ("train_error", "test_error", "active_train", "active_test", "active_frac_train")


@AGGREGATORS.register("sparsity_at_stop")
def at_stopping_step(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per run (cell, seed): its metrics at its stopping step, plus its last-step metrics."""
    missing = [k for k in ("cell", "seed", "step", "stop_step") if k not in curves]
    if missing:
        raise ValueError(
            f"sparsity_at_stop needs columns {missing} in curves.csv; runs trained before the stopping "
            "rule was recorded lack `stop_step`: delete their run folders and train them again"
        )
    picked, met, last_rows = [], [], []
    for (cell, seed), run in curves.sort_values("step", kind="stable").groupby(["cell", "seed"], sort=False):
        stop = run["stop_step"].dropna().unique()
        if len(stop) > 1:
            raise ValueError(f"run {cell} seed {seed} has several stop_step values {stop}")
        at_stop = run.index[run["step"] == stop[0]] if len(stop) else run.index[-1:]
        if len(at_stop) != 1:
            raise ValueError(f"run {cell} seed {seed}: no single row at its stop_step {stop[0]}")
        picked.append(at_stop[0])
        met.append(bool(len(stop)))
        last_rows.append(run.index[-1])
    table = curves.loc[picked].drop(columns=["stopped"], errors="ignore").reset_index(drop=True)
    table["stop_met"] = met
    last = curves.loc[last_rows].reset_index(drop=True)
    table["last_step"] = last["step"]
    for column in LAST_COLUMNS:
        if column in last:
            table[f"{column}_last"] = last[column]
    return table.sort_values(["cell", "seed"]).reset_index(drop=True)
