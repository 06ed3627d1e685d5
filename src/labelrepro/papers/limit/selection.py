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

import numpy as np
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


#: Test-set resamples of the CIFAR tables' error bars (supplement C: "resampling the corresponding test
#: sets 1000 times with replacement") and the seed of those resamples.
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0


def bootstrap_std(correct: np.ndarray, n_resamples: int = BOOTSTRAP_RESAMPLES,
                  seed: int = BOOTSTRAP_SEED) -> float:
    """Standard deviation (ddof = 1) of the accuracy over `n_resamples` resamples of the test set with
    replacement; `correct` holds one 0/1 entry per test example. Seeded: the same input gives the same
    number. For n examples at accuracy a it approaches the Bernoulli-mean std sqrt(a (1 - a) / n)."""
    correct = np.asarray(correct, dtype=np.float64)
    if correct.ndim != 1 or len(correct) == 0:
        raise ValueError("bootstrap_std needs a non-empty 1-d array of per-example 0/1 correctness")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(correct), size=(n_resamples, len(correct)))
    return float(correct[idx].mean(axis=1).std(ddof=1))


def correctness_vector(accuracy: float, n: int) -> np.ndarray:
    """A 0/1 vector with round(accuracy * n) ones: the test set's per-example correctness up to order,
    which is all a resample's accuracy depends on (the mean of a resample is invariant to the order)."""
    k = round(accuracy * n)
    if not 0 <= k <= n:
        raise ValueError(f"accuracy {accuracy} on {n} examples is not a fraction of them")
    return np.concatenate([np.ones(k), np.zeros(n - k)])


@AGGREGATORS.register("limit_selection_bootstrap")
def limit_selection_bootstrap(curves: pd.DataFrame) -> pd.DataFrame:
    """`limit_selection`, with the error bar of Tables 6-7: one run per cell, so `test_acc_std` is the
    bootstrap std of the selected checkpoint's test accuracy over 1000 test-set resamples (seeded)."""
    if "n_test" not in curves:
        raise ValueError("limit_selection_bootstrap needs the runs' n_test column (trainer revision >= 2 "
                         "with n_test rows); re-run the training jobs")
    table = limit_selection(curves)
    runs = per_run(curves)
    n_test = runs.groupby("cell", sort=False)["n_test"].first()
    many = table[table["n_splits"] > 1]
    if len(many):
        raise ValueError(f"limit_selection_bootstrap is for one run per cell; {many['cell'].iloc[0]} has "
                         f"{int(many['n_splits'].iloc[0])} splits (use limit_selection)")
    table["n_test"] = table["cell"].map(n_test).astype(int)
    table["test_acc_std"] = [bootstrap_std(correctness_vector(a, n))
                             for a, n in zip(table["test_acc_mean"], table["n_test"], strict=True)]
    table["test_acc_std_kind"] = f"bootstrap-{BOOTSTRAP_RESAMPLES}"
    return table
