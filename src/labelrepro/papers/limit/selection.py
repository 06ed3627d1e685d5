"""Hyperparameter selection of the LIMIT tables (supplement Appendix B), as the aggregation step.

Each run's last metrics row holds its best validation accuracy and the test accuracy of that
best-validation checkpoint. Per configuration (cell) we average over the splits; per table column
(method, noise rate p, training size n) the configuration with the highest MEAN validation accuracy over
the splits is selected, and its test accuracy (mean and standard deviation over the same splits) is what
the table reports. Ties keep the configuration that comes first in the experiment's grid (the order
of the cells in curves.csv), which lists smaller hyperparameter values first. The test set never enters
the selection.

aggregate.csv: one row per configuration, with `selected` marking the chosen one of each column.
"""

from __future__ import annotations

import pandas as pd

from labelrepro.registry import AGGREGATORS

#: Columns that identify a table cell; the hyperparameters are whatever else the grid points set.
COLUMN_KEYS = ("method", "noise_rate", "train_size")
HYPERPARAMETERS = ("beta", "sigma", "lam", "lr")


def per_run(curves: pd.DataFrame) -> pd.DataFrame:
    """The last row (final epoch) of every run: its best validation and best-checkpoint test accuracy."""
    last = curves.sort_values("epoch", kind="stable").groupby(["cell", "seed"], sort=False).tail(1)
    return last.rename(columns={"epoch": "epochs_run"})


@AGGREGATORS.register("limit_selection")
def limit_selection(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration: mean/std over splits and whether validation selected it for its column."""
    runs = per_run(curves)
    missing = [k for k in ("cell", "seed", "best_val_acc", "test_acc", *COLUMN_KEYS) if k not in runs]
    if missing:
        raise ValueError(f"LIMIT selection needs columns {missing} in curves.csv (grid keys or metrics)")
    cell_order = {cell: i for i, cell in enumerate(dict.fromkeys(curves["cell"]))}
    hps = [h for h in HYPERPARAMETERS if h in runs]
    first = runs.groupby("cell", sort=False)[[*COLUMN_KEYS, *hps]].first()
    stats = runs.groupby("cell", sort=False).agg(
        val_acc_mean=("best_val_acc", "mean"),
        test_acc_mean=("test_acc", "mean"),
        test_acc_std=("test_acc", "std"),
        n_splits=("seed", "nunique"),
        seeds=("seed", lambda s: " ".join(str(int(v)) for v in sorted(s))),
        epochs_run_mean=("epochs_run", "mean"),
        best_epoch_mean=("best_epoch", "mean"),
    )
    table = first.join(stats).reset_index()
    table["grid_order"] = table["cell"].map(cell_order)
    table = table.sort_values("grid_order", kind="stable").reset_index(drop=True)
    # idxmax returns the first maximum, i.e. the earliest configuration in grid order among ties.
    best = table.groupby(list(COLUMN_KEYS), sort=False)["val_acc_mean"].idxmax()
    table["selected"] = False
    table.loc[best.to_numpy(), "selected"] = True
    return table.drop(columns="grid_order")
