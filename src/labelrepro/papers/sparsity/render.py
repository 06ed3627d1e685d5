"""Figures of seed 003 (Cornacchia et al.)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labelrepro.core.plotting import save_figure, scale_note, setup
from labelrepro.registry import RENDERERS


@RENDERERS.register("sparsity_fig1")
def render_sparsity_fig1(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 1: (a) test error and (b) typical number of active hidden neurons vs SGD steps.

    One line per label-noise level: mean over runs with a ±1 standard deviation band, to the last step.
    With the `sparsity_at_stop` aggregate, a dashed vertical line per noise level marks its runs' mean
    stopping step, and the title reports the runs at their stopping steps.
    """
    plt, sns = setup()
    from matplotlib.ticker import EngFormatter
    data = curves.assign(p=curves["label_noise"].map(lambda v: f"p = {v:g}"))
    levels = sorted(data["label_noise"].unique())
    order = [f"p = {v:g}" for v in levels]
    palette = dict(zip(order, sns.color_palette(n_colors=len(order)), strict=True))
    hidden = round((data["active_train"] / data["active_frac_train"]).dropna().iloc[0])
    at_stop = "stop_met" in final
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    panels = [("test_error", "test error", "(a) test error"), ("active_train", "active neurons", "(b)")]
    for ax, (column, ylabel, title) in zip(axes, panels, strict=True):
        sns.lineplot(data=data, x="step", y=column, hue="p", hue_order=order, palette=palette,
                     errorbar="sd", ax=ax, linewidth=1.2)
        if at_stop:
            for level, name in zip(levels, order, strict=True):
                mean_stop = final.loc[final["label_noise"] == level, "step"].mean()
                ax.axvline(mean_stop, color=palette[name], linestyle="--", linewidth=0.9)
        ax.set_xlabel("SGD steps" + ("  (dashed: mean stopping step)" if at_stop else ""))
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.set_ylabel(ylabel)
        ax.set_title(title if column == "test_error" else f"(b) typical active neurons (of {hidden})")
    runs = final.groupby("label_noise").size().max()
    summary = ", ".join(
        f"p={p:g}: test err {g['test_error'].mean():.1%}, active {g['active_train'].mean():.1f}"
        + (f", stop {g['step'].mean() / 1000:.0f}k" if at_stop else "")
        for p, g in final.groupby("label_noise")
    )
    where = "at stopping step" if at_stop else "final"
    fig.suptitle(f"Hypercube boundary, {runs} runs per p; {where} {summary}{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)
