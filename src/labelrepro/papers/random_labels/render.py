"""Figures of seed 000 (Becker & Risse, random label prediction heads)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labelrepro.core.plotting import save_figure, scale_note, setup
from labelrepro.registry import RENDERERS


@RENDERERS.register("fig3a")
def render_fig3a(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 3A: final random-label accuracy (training set) against the copy depth d.

    Copies at the normal width form the line; the width test (wider copied layers) is drawn as separate
    markers at its depth. The dashed line is chance (1/n).
    """
    plt, sns = setup()
    data = final.assign(width=final["width_multiplier"].astype(float))
    fig, ax = plt.subplots(figsize=(6, 3.8))
    normal = data[data["width"] == 1.0]
    sns.lineplot(data=normal, x="copy_depth", y="rnd_acc", marker="o", errorbar="sd", ax=ax,
                 label="copied layers at width x1")
    for width, group in data[data["width"] != 1.0].groupby("width"):
        ax.scatter(group["copy_depth"], group["rnd_acc"], marker="s", s=50, zorder=3,
                   label=f"copied layers at width x{width:g}")
    n_random = _num_random_labels(curves)
    ax.axhline(1.0 / n_random, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xlabel("copy depth d (weight layers copied, from the output)")
    ax.set_ylabel("random-label accuracy (train)")
    ax.set_xticks(sorted(data["copy_depth"].unique()))
    ax.legend(fontsize=8)
    ax.set_title(f"VGG16, CIFAR-100, n = {n_random}{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


@RENDERERS.register("fig1b")
def render_fig1b(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 1B: train, test and random-label accuracy against epochs (mean ± sd over seeds)."""
    plt, sns = setup()
    long = curves.melt(
        id_vars=["seed", "epoch"], value_vars=["train_acc", "test_acc", "rnd_acc"],
        var_name="metric", value_name="accuracy",
    )
    names = {"train_acc": "train", "test_acc": "test", "rnd_acc": "random labels (train)"}
    long["metric"] = long["metric"].map(names)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    sns.lineplot(data=long, x="epoch", y="accuracy", hue="metric", errorbar="sd", ax=ax)
    n_random = _num_random_labels(curves)
    ax.axhline(1.0 / n_random, color="grey", linestyle="--", linewidth=1, label="random-label chance")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title(f"WRN-16-4, CIFAR-100, n = {n_random}, λ = 0{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


def _num_random_labels(curves: pd.DataFrame) -> int:
    """n, read back from the run metadata that aggregation attached (column `num_random_labels`)."""
    return int(curves["num_random_labels"].iloc[0])
