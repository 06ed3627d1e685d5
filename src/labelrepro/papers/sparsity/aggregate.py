"""Aggregation of seed 003's runs at the paper's stopping point.

Every run trains for all of `steps`; its metrics rows carry `stop_step`, the step at which it first met
the stopping rule (`stopping.py`: zero clean training error, then a stable test error), empty when it
never did. `at_stopping_step` keeps, per run, the row at its `stop_step` (`stop_met` true), or its last
row when the rule was never met (`stop_met` false, so such runs are visible rather than silently
reported at the end). The run's last row is kept alongside as `last_step` and `<metric>_last`, so the
aggregate also holds the fixed-length numbers.
"""

from __future__ import annotations

import math

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


#: Share of a run's evaluations, at its end, whose mean is reported as the run's plateau (`<m>_tail`).
TAIL_FRACTION = 0.2


def first_step(steps: pd.Series, mask: pd.Series) -> float:
    """The first step where `mask` holds, NaN if never."""
    hit = steps[mask.to_numpy()]
    return float(hit.iloc[0]) if len(hit) else float("nan")


@AGGREGATORS.register("sparsity_noise_summary")
def pure_noise_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per run (cell, loss, lr, seed) of the pure-noise trainer (Figs. 2-4).

    For every recorded metric m: `m_init` (step 0), `m_final` (last step) and `m_tail` (mean over the
    last 20% of the evaluations: the plateau). For the norms, `m_t10` is the first step at which m is
    at most 10% of its initial value ("how long until the weights are nulled", Fig. 3) and `m_reach`
    the first step within 10% of the run's plateau (Fig. 2's "linear decay up to an equilibrium"). The
    equilibria predicted for Fig. 2's single neuron sit alongside: d h (the paper's §6.1 and Theorem
    2a's order), d sqrt(h) (Theorem 2b's order), and the zeros of the expected change of ||v||^2 per
    step at small ||v|| (`pred_stationary`; docs/decisions.md): sqrt(2 pi) d h / 4 for the hinge
    loss, sqrt(d h / 2) for the logistic loss.
    """
    missing = [k for k in ("cell", "seed", "loss", "step", "d", "lr") if k not in curves]
    if missing:
        raise ValueError(
            f"sparsity_noise_summary needs columns {missing} in curves.csv (trainer sparsity_noise)")
    skip = {"seed", "step", "d", "lr"}
    metrics = [c for c in curves.select_dtypes("number").columns if c not in skip]
    norms = [c for c in ("w_norm", "w1_norm", "w2_norm", "b1_norm") if c in curves]
    records = []
    groups = curves.sort_values("step", kind="stable").groupby(["cell", "loss", "lr", "seed"])
    for (cell, loss, lr, seed), run in groups:
        record: dict = {"cell": cell, "loss": loss, "lr": lr, "seed": seed,
                        "steps": int(run["step"].iloc[-1])}
        for column in curves.columns:
            if column not in (*metrics, *record, "step", "run", "config_hash"):
                record[column] = run[column].iloc[0]
        tail = run.iloc[-max(1, round(TAIL_FRACTION * len(run))):]
        for m in metrics:
            values = run[m]
            record[f"{m}_init"], record[f"{m}_final"], record[f"{m}_tail"] = (
                values.iloc[0], values.iloc[-1], tail[m].mean())
        for m in norms:
            values, plateau = run[m], record[f"{m}_tail"]
            record[f"{m}_t10"] = first_step(run["step"], values <= 0.1 * values.iloc[0])
            record[f"{m}_reach"] = first_step(run["step"], values <= 1.1 * plateau)
        d, h = float(run["d"].iloc[0]), float(run["lr"].iloc[0])
        record["pred_dh"] = d * h
        record["pred_d_sqrt_h"] = d * math.sqrt(h)
        record["pred_stationary"] = (
            math.sqrt(2 * math.pi) * d * h / 4 if loss == "hinge" else math.sqrt(d * h / 2))
        records.append(record)
    return pd.DataFrame(records)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion (sound at 0 and n successes, unlike Wald)."""
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # the interval always contains p; clamping keeps rounding at p = 0 or 1 from putting it outside
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


@AGGREGATORS.register("sparsity_thm4_summary")
def theorem4_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, k, learning-rate rule): the runs' state at their last step, over seeds.

    Fractions of runs (with 95% Wilson intervals, `<x>_lo` / `<x>_hi`): `all_dead` (ReLU(W e_i) = 0 for
    every i: Theorem 4.1), `none_dead` (ReLU(W e_i) != 0 for every i: Theorem 4.2, first part),
    `thm3` (max_i |N(e_i)| < 2kh: Theorem 3) and `settled` (the live sets did not change in the second
    half of training). Means over runs with a normal 95% interval: `zero_frac_mean` (fraction of zero
    coordinates of ReLU(W e_i), averaged over i; Theorem 4.2 says at most 1/2 + o(1)) and
    `zero_frac_max` (its maximum over i).
    """
    missing = [k for k in ("cell", "seed", "k", "rule", "step") if k not in curves]
    if missing:
        raise ValueError(
            f"sparsity_thm4_summary needs columns {missing} in curves.csv (trainer sparsity_thm4)")
    last_step = curves.groupby(["cell", "k", "rule", "seed"])["step"].transform("max")
    final = curves[curves["step"] == last_step]
    records = []
    for (cell, k, rule), runs in final.groupby(["cell", "k", "rule"], sort=False):
        n = len(runs)
        steps = int(runs["step"].max())
        record = {"cell": cell, "k": int(k), "rule": rule, "lr": float(runs["lr"].iloc[0]), "runs": n,
                  "steps": steps}
        flags = {
            "all_dead": runs["all_dead"] > 0.5,
            "none_dead": runs["none_dead"] > 0.5,
            "thm3": runs["thm3_ratio"] < 1.0,
            "settled": runs["last_change_step"] <= steps / 2,
        }
        for name, flag in flags.items():
            hits = int(flag.sum())
            record[name] = hits / n
            record[f"{name}_lo"], record[f"{name}_hi"] = wilson_interval(hits, n)
        for name in ("zero_frac_mean", "zero_frac_max", "thm3_ratio", "dead_inputs"):
            mean, sd = runs[name].mean(), runs[name].std(ddof=1) if n > 1 else 0.0
            record[name] = mean
            half = 1.96 * sd / math.sqrt(n)
            record[f"{name}_lo"], record[f"{name}_hi"] = mean - half, mean + half
        records.append(record)
    return pd.DataFrame(records).sort_values(["cell", "rule", "k"]).reset_index(drop=True)


@AGGREGATORS.register("sparsity_mnist_summary")
def mnist_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per MNIST run (cell, label_noise, seed): its last epoch's errors and active fractions,
    the same at initialisation (`<m>_init`), and Appendix F's counts over its hidden neurons:
    `associated` (digit-associated neurons of all), `associated_sample` (of the `histogram_neurons`
    drawn for Fig. 6), `silent` (neurons that never fired on the training set)."""
    missing = [k for k in ("cell", "kind", "seed", "label_noise", "epoch") if k not in curves]
    if missing:
        raise ValueError(
            f"sparsity_mnist_summary needs columns {missing} in curves.csv (trainer sparsity_mnist)")
    epochs, neurons = curves[curves["kind"] == "epoch"], curves[curves["kind"] == "neuron"]
    metrics = ("train_error", "test_error", "active_frac_train", "active_frac_test", "train_loss")
    count_columns = [f"count_{c}" for c in range(10)]
    records = []
    for (cell, p, seed), run in epochs.sort_values("epoch").groupby(["cell", "label_noise", "seed"]):
        record = {"cell": cell, "label_noise": p, "seed": seed, "epoch": int(run["epoch"].iloc[-1])}
        for m in metrics:
            record[m], record[f"{m}_init"] = run[m].iloc[-1], run[m].iloc[0]
        own = neurons[(neurons["cell"] == cell) & (neurons["label_noise"] == p) & (neurons["seed"] == seed)]
        in_sample = own["in_sample"].astype(str).str.lower() == "true"
        record["hidden"] = len(own)
        record["associated"] = int((own["digit"] >= 0).sum())
        record["associated_sample"] = int((own.loc[in_sample, "digit"] >= 0).sum())
        record["sample_size"] = int(in_sample.sum())
        record["silent"] = int((own[count_columns].sum(axis=1) == 0).sum())
        records.append(record)
    return pd.DataFrame(records)


@AGGREGATORS.register("sparsity_cifar_layers")
def cifar_layers(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, label_smoothing, seed, ReLU layer): the layer's fraction of active units for a
    typical test input after training, its size, whether it is the penultimate layer, and the run's
    final test accuracy."""
    missing = [k for k in ("cell", "kind", "seed", "label_smoothing") if k not in curves]
    if missing:
        raise ValueError(
            f"sparsity_cifar_layers needs columns {missing} in curves.csv (trainer sparsity_cifar)")
    layers = curves[curves["kind"] == "layer"]
    columns = ["cell", "label_smoothing", "seed", "layer_index", "layer", "units", "penultimate",
               "active_frac", "test_acc"]
    return layers[columns].sort_values(["label_smoothing", "seed", "layer_index"]).reset_index(drop=True)
