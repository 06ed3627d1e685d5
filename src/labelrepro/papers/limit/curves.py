"""Fig. A0 of seed 001: training and test accuracy per epoch of LIMIT - S for several beta (aggregation
and figure).

The runs are limit_table5's (MNIST, p = 0.8, all 48k examples), which record `epoch_test_acc` there. The
figure draws split `seed` = the smallest one (42): training accuracy on the noisy labels (what
memorisation raises) and test accuracy, both smoothed with TensorBoard's exponential moving average
(weight 0.6; the supplement only says "smoothed"). aggregate.csv summarises every (method, beta) over
the splits, for the claim "increasing beta decreases overfitting on the training set".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labelrepro.core.plotting import save_figure, scale_note, setup
from labelrepro.papers.limit.methods import METHODS
from labelrepro.registry import AGGREGATORS, RENDERERS

#: TensorBoard's default smoothing weight: s_t = w s_{t-1} + (1 - w) x_t, debiased as TensorBoard does.
SMOOTHING = 0.6


def smooth(values: pd.Series | np.ndarray, weight: float = SMOOTHING) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard's scalar smoothing): the first value is kept,
    and a constant series stays constant."""
    x = np.asarray(values, dtype=np.float64)
    out = np.empty_like(x)
    last, norm = 0.0, 0.0
    for i, v in enumerate(x):
        last = weight * last + (1 - weight) * v
        norm = weight * norm + (1 - weight)
        out[i] = last / norm
    return out


@AGGREGATORS.register("limit_beta_curves")
def limit_beta_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, beta): over the splits, the mean last-epoch training accuracy on the noisy
    labels, the mean of its maximum, the mean last-epoch test accuracy, the best-validation checkpoint's
    test accuracy, and the overfitting gap (last-epoch training minus test accuracy)."""
    needed = ("method", "beta", "seed", "epoch", "train_acc", "epoch_test_acc")
    missing = [k for k in needed if k not in curves]
    if missing:
        raise ValueError(f"limit_beta_curves needs columns {missing} (set test_every_epoch: true)")
    ordered = curves.sort_values("epoch", kind="stable")
    per_run = ordered.groupby(["method", "beta", "seed"], sort=False).agg(
        train_acc_final=("train_acc", "last"), train_acc_max=("train_acc", "max"),
        test_acc_final=("epoch_test_acc", "last"), test_acc=("test_acc", "last"), epochs=("epoch", "max"))
    per_run["gap_final"] = per_run["train_acc_final"] - per_run["test_acc_final"]
    table = per_run.groupby(["method", "beta"]).agg(
        train_acc_final_mean=("train_acc_final", "mean"), train_acc_max_mean=("train_acc_max", "mean"),
        test_acc_final_mean=("test_acc_final", "mean"), test_acc_mean=("test_acc", "mean"),
        gap_final_mean=("gap_final", "mean"), epochs_mean=("epochs", "mean"),
        n_splits=("epochs", "size"))
    return table.reset_index()


@RENDERERS.register("limit_figA0")
def render_limit_fig_a0(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Two panels (LIMIT_G - S, LIMIT_L - S): per beta one colour, solid = training accuracy (noisy
    labels), dashed = test accuracy, smoothed, for the first split."""
    plt, sns = setup()
    seed = int(curves["seed"].min())
    data = curves[curves["seed"] == seed]
    betas = sorted(data["beta"].unique())
    palette = dict(zip(betas, sns.color_palette("viridis", n_colors=len(betas)), strict=True))
    methods = [m for m in ("limit_g", "limit_l") if m in set(data["method"])]
    fig, axes = plt.subplots(1, len(methods), figsize=(5 * len(methods), 3.8), squeeze=False)
    for ax, method in zip(axes[0], methods, strict=True):
        for beta in betas:
            run = data[(data["method"] == method) & (data["beta"] == beta)].sort_values("epoch")
            if run.empty:
                continue
            ax.plot(run["epoch"], 100 * smooth(run["train_acc"]), color=palette[beta], linewidth=1.2,
                    label=f"β = {beta:g}")
            ax.plot(run["epoch"], 100 * smooth(run["epoch_test_acc"]), color=palette[beta],
                    linewidth=1.2, linestyle="--")
        ax.set_title(METHODS[method].paper_name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (%)  (solid: train, noisy labels; dashed: test)")
    axes[0][0].legend(fontsize=7, ncol=2)
    fig.suptitle(f"MNIST, 80% uniform noise, split {seed}; EMA-smoothed (weight {SMOOTHING})"
                 f"{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)
