"""Figures of seed 003 (Cornacchia et al.)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labelrepro.core.plotting import save_figure, scale_note, setup
from labelrepro.registry import RENDERERS


@RENDERERS.register("sparsity_fig1")
def render_sparsity_fig1(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 1: (a) test error and (b) typical number of active hidden neurons vs SGD steps.

    One line per label-noise level: mean over runs with a ±1 standard deviation band.
    """
    plt, sns = setup()
    from matplotlib.ticker import EngFormatter
    data = curves.assign(p=curves["label_noise"].map(lambda v: f"p = {v:g}"))
    hidden = round((data["active_train"] / data["active_frac_train"]).dropna().iloc[0])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    panels = [("test_error", "test error", "(a) test error"), ("active_train", "active neurons", "(b)")]
    for ax, (column, ylabel, title) in zip(axes, panels, strict=True):
        sns.lineplot(data=data, x="step", y=column, hue="p", errorbar="sd", ax=ax, linewidth=1.2)
        ax.set_xlabel("SGD steps")
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.set_ylabel(ylabel)
        ax.set_title(title if column == "test_error" else f"(b) typical active neurons (of {hidden})")
    runs = final.groupby("label_noise").size().max()
    summary = ", ".join(
        f"p={p:g}: test err {g['test_error'].mean():.1%}, active {g['active_train'].mean():.1f}"
        for p, g in final.groupby("label_noise")
    )
    fig.suptitle(f"Hypercube boundary, {runs} runs per p; final {summary}{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)
