"""Figures of seed 003 (Cornacchia et al.)."""

from __future__ import annotations

import math
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


LOSS_NAMES = {"hinge": "hinge (beta = 0)", "logistic": "cross-entropy"}


def _steps_axis(ax) -> None:
    from matplotlib.ticker import EngFormatter

    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.set_xlabel("SGD steps")


def _mean_band(ax, data: pd.DataFrame, column: str, hue: str, palette: dict, label=None) -> None:
    """Mean over seeds with a min-max band, one line per value of `hue`."""
    for value, group in data.groupby(hue, sort=True):
        stats = group.groupby("step")[column].agg(["mean", "min", "max"])
        colour = palette[value]
        name = label(value) if label else str(value)
        ax.plot(stats.index, stats["mean"], color=colour, linewidth=1.2, label=name)
        ax.fill_between(stats.index, stats["min"], stats["max"], color=colour, alpha=0.2, linewidth=0)


def _rate_label(lr: float, d: float) -> str:
    """'h = 1/d^2 = 0.00111' style labels for the rates the experiments use."""
    for name, value in (("1/d^2", 1 / d**2), ("1/d", 1 / d), ("1/(4d^2)", 1 / (4 * d**2))):
        if abs(lr - value) < 1e-9 * max(1.0, value):
            return f"h = {name} = {lr:.3g}"
    return f"h = {lr:.3g}"


def _facets(plt, curves: pd.DataFrame, columns: int, width: float = 4.0):
    lrs = sorted(curves["lr"].unique())
    fig, axes = plt.subplots(len(lrs), columns, figsize=(width * columns, 3.4 * len(lrs)), squeeze=False)
    return fig, axes, lrs


@RENDERERS.register("sparsity_fig2")
def render_sparsity_fig2(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 2: ||v|| of a single neuron under pure label noise vs steps, hinge and cross-entropy, one row per
    learning rate, linear and log scale, with d h (the paper's equilibrium, dashed) and the stationary
    points of E ||v||^2 (dotted); mean over seeds, band = min..max."""
    plt, sns = setup()
    losses = sorted(curves["loss"].unique())
    palette = dict(zip(losses, sns.color_palette(n_colors=len(losses)), strict=True))
    fig, axes, lrs = _facets(plt, curves, 2, 5.0)
    d = float(final["d"].iloc[0])
    for row, lr in zip(axes, lrs, strict=True):
        data, rows = curves[curves["lr"] == lr], final[final["lr"] == lr]
        for ax, log in zip(row, (False, True), strict=True):
            _mean_band(ax, data, "w_norm", "loss", palette, LOSS_NAMES.get)
            for loss in losses:
                ax.axhline(rows.loc[rows["loss"] == loss, "pred_stationary"].iloc[0], color=palette[loss],
                           linestyle=":", linewidth=1)
            ax.axhline(d * lr, color="black", linestyle="--", linewidth=1, label="d h")
            if log:
                ax.set_yscale("log")
            _steps_axis(ax)
            ax.set_ylabel("||v||")
            summary = "; ".join(f"{loss}: {g['w_norm_tail'].mean():.4f}" for loss, g in rows.groupby("loss"))
            ax.set_title(f"{_rate_label(lr, d)}, d h = {d * lr:.4f}; plateau {summary}", fontsize=8)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Single neuron under pure label noise, x ~ N(0, I), d = {d:g}; "
                 f"{final['seed'].nunique()} seeds "
                 f"(dotted: stationary points of E||v||^2){scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


def _norm_panels(axes, curves: pd.DataFrame, palette: dict, columns: list[tuple[str, str, bool]]) -> None:
    for ax, (column, label, log) in zip(axes, columns, strict=True):
        _mean_band(ax, curves, column, "loss", palette, LOSS_NAMES.get)
        _steps_axis(ax)
        ax.set_ylabel(label)
        if log:
            ax.set_yscale("log")


@RENDERERS.register("sparsity_fig3")
def render_sparsity_fig3(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 3: ||W1||_F and ||w2|| of a bias-free one-hidden-layer ReLU net under pure label noise vs steps,
    hinge vs cross-entropy, one row per learning rate (mean over seeds, band = min..max); E|N(x)|
    alongside."""
    plt, sns = setup()
    losses = sorted(curves["loss"].unique())
    palette = dict(zip(losses, sns.color_palette(n_colors=len(losses)), strict=True))
    fig, axes, lrs = _facets(plt, curves, 3)
    d = float(final["d"].iloc[0])
    for row, lr in zip(axes, lrs, strict=True):
        _norm_panels(row, curves[curves["lr"] == lr], palette,
                     [("w1_norm", "||W1||_F (hidden layer)", False), ("w2_norm", "||w2|| (output)", True),
                      ("out_abs_mean", "E|N(x)|", True)])
        rows = final[final["lr"] == lr]
        row[0].set_title(_rate_label(lr, d) + "; " + ", ".join(
            f"{loss}: {g['w1_norm_init'].mean():.1f} -> {g['w1_norm_final'].mean():.2f}"
            for loss, g in rows.groupby("loss")), fontsize=8)
        row[1].set_title(", ".join(
            f"{loss}: {g['w2_norm_init'].mean():.1f} -> {g['w2_norm_final'].mean():.3f}"
            for loss, g in rows.groupby("loss")), fontsize=8)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"No bias, pure label noise, x ~ N(0, I), d = {d:g}; {final['seed'].nunique()} seeds"
                 f"{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


@RENDERERS.register("sparsity_fig4")
def render_sparsity_fig4(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 4: the same net with biases, one row per learning rate: (a) norms, (b) typical number of active
    hidden neurons (Definition 1, on fixed fresh inputs), (c) the distribution of the hidden biases over
    neurons vs steps (median, 25-75% and 5-95% bands, averaged over seeds) - not only their mean."""
    plt, sns = setup()
    losses = sorted(curves["loss"].unique())
    palette = dict(zip(losses, sns.color_palette(n_colors=len(losses)), strict=True))
    fig, axes, lrs = _facets(plt, curves, 4)
    d = float(final["d"].iloc[0])
    hidden = round((final["active_init"] / final["active_frac_init"]).iloc[0])
    for row, lr in zip(axes, lrs, strict=True):
        data = curves[curves["lr"] == lr]
        _norm_panels(row[:3], data, palette, [
            ("w1_norm", "(a) ||W1||_F", False), ("w2_norm", "(a) ||w2||", True),
            ("active", f"(b) typical active neurons (of {hidden})", False)])
        ax = row[3]
        for loss in losses:
            stats = data[data["loss"] == loss].groupby("step").mean(numeric_only=True)
            colour = palette[loss]
            ax.plot(stats.index, stats["b1_q50"], color=colour, linewidth=1.2,
                    label=f"{LOSS_NAMES.get(loss)} median")
            for low, high, alpha in (("b1_q25", "b1_q75", 0.3), ("b1_q05", "b1_q95", 0.12)):
                ax.fill_between(stats.index, stats[low], stats[high], color=colour, alpha=alpha, linewidth=0)
        _steps_axis(ax)
        ax.set_ylabel("(c) hidden biases over neurons")
        rows = final[final["lr"] == lr]
        row[0].set_title(_rate_label(lr, d), fontsize=8)
        row[2].set_title(", ".join(f"{loss}: {g['active_init'].mean():.1f} -> {g['active_final'].mean():.2f}"
                                   for loss, g in rows.groupby("loss")), fontsize=8)
        row[3].set_title("median " + ", ".join(
            f"{loss}: {g['b1_q50_init'].mean():.2f} -> {g['b1_q50_final'].mean():.2f}"
            for loss, g in rows.groupby("loss"))
            + "; bands 25-75%, 5-95%", fontsize=8)
    axes[0][0].legend(fontsize=8)
    axes[0][3].legend(fontsize=7)
    fig.suptitle(f"With bias, pure label noise, x ~ N(0, I), d = {d:g}, {hidden} hidden units; "
                 f"{final['seed'].nunique()} seeds{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


@RENDERERS.register("sparsity_thm4")
def render_sparsity_thm4(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Theorems 3-4 against k: (a) fraction of runs with ReLU(W e_i) = 0 for every i, (b) fraction with
    ReLU(W e_i) != 0 for every i, (c) mean fraction of zero coordinates of ReLU(W e_i) (1/2 = Theorem
    4.2's limit), (d) fraction of runs with max_i |N(e_i)| < 2kh (Theorem 3). 95% intervals (Wilson
    for fractions, normal for means)."""
    plt, sns = setup()
    rules = list(dict.fromkeys(final["rule"]))
    palette = dict(zip(rules, sns.color_palette(n_colors=len(rules)), strict=True))
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    panels = [("all_dead", "(a) P[ReLU(W e_i) = 0 for all i]"),
              ("none_dead", "(b) P[ReLU(W e_i) != 0 for all i]"),
              ("zero_frac_mean", "(c) zero fraction of ReLU(W e_i)"), ("thm3", "(d) P[max |N(e_i)| < 2kh]")]
    for ax, (column, label) in zip(axes, panels, strict=True):
        for rule in rules:
            rows = final[final["rule"] == rule].sort_values("k")
            # clipped at 0: an interval end equal to the estimate may come out a rounding error inside it
            err = [(rows[column] - rows[f"{column}_lo"]).clip(lower=0),
                   (rows[f"{column}_hi"] - rows[column]).clip(lower=0)]
            ax.errorbar(rows["k"], rows[column], yerr=err, color=palette[rule], marker="o", markersize=3,
                        capsize=2, linewidth=1, label=rule)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("k (2k hidden units)")
        ax.set_ylabel(label)
        if column == "zero_frac_mean":
            ax.axhline(0.5, color="black", linestyle="--", linewidth=0.8)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Theorems 3-4: pure label noise over e_1..e_d, hinge (beta = 0), only W trained; "
                 f"{int(final['runs'].max())} runs per point, {int(final['steps'].max())} steps"
                 f"{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


@RENDERERS.register("sparsity_fig5")
def render_sparsity_fig5(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 5 and Appendix F's Fig. 6 on one page: (a) typical fraction of active hidden neurons vs epochs,
    (b) training and test error vs epochs (mean over seeds, band = min..max), then, for the first seed
    of the lowest and the highest noise level, the digit histograms of its drawn hidden neurons (how
    often each fired for each digit on the training set; the associated digit in red)."""
    plt, sns = setup()
    epochs = curves[curves["kind"] == "epoch"].copy()
    neurons = curves[curves["kind"] == "neuron"]
    epochs["p"] = epochs["label_noise"].map(lambda v: f"p = {v:g}")
    levels = sorted(epochs["label_noise"].unique())
    palette = dict(zip(levels, sns.color_palette(n_colors=len(levels)), strict=True))
    fig = plt.figure(figsize=(15, 17))
    top, *grids = fig.subfigures(3, 1, height_ratios=[1.0, 1.4, 1.4])
    ax_active, ax_error = top.subplots(1, 2)
    for p in levels:
        stats = epochs[epochs["label_noise"] == p].groupby("epoch")
        colour = palette[p]
        for ax, column, style, label in ((ax_active, "active_frac_train", "-", "train"),
                                         (ax_error, "train_error", "--", "train"),
                                         (ax_error, "test_error", "-", "test")):
            agg = stats[column].agg(["mean", "min", "max"])
            ax.plot(agg.index, agg["mean"], color=colour, linestyle=style, label=f"p = {p:g} {label}")
            ax.fill_between(agg.index, agg["min"], agg["max"], color=colour, alpha=0.15, linewidth=0)
    ax_active.set_ylabel("(a) typical fraction of active hidden neurons")
    ax_error.set_ylabel("(b) classification error")
    ax_error.set_yscale("log")
    for ax in (ax_active, ax_error):
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    summary = "; ".join(
        f"p = {p:g}: active {g['active_frac_train_init'].mean():.0%} -> {g['active_frac_train'].mean():.1%}, "
        f"test err {g['test_error'].mean():.2%}, "
        f"digit-associated {g['associated'].mean():.0f}/{g['hidden'].iloc[0]} "
        f"({g['associated_sample'].mean():.1f}/{g['sample_size'].iloc[0]} drawn)"
        for p, g in final.groupby("label_noise"))
    top.suptitle(f"MNIST, {final['seed'].nunique()} seeds per p; {summary}{scale_note(scale)}", fontsize=9)
    seed = int(final["seed"].min())
    for grid, p in zip(grids, (levels[0], levels[-1]), strict=True):
        own = neurons[(neurons["label_noise"] == p) & (neurons["seed"] == seed)]
        own = own[own["in_sample"].astype(str).str.lower() == "true"].sort_values("neuron")
        columns = 6
        rows = max(1, math.ceil(len(own) / columns))
        axes = grid.subplots(rows, columns, squeeze=False)
        for ax, (_, neuron) in zip(axes.flat, own.iterrows(), strict=False):
            counts = [neuron[f"count_{c}"] for c in range(10)]
            colours = ["tab:red" if c == neuron["digit"] else "tab:gray" for c in range(10)]
            ax.bar(range(10), counts, color=colours)
            ax.set_xticks(range(10))
            ax.tick_params(labelsize=6)
            ax.set_title(f"neuron {int(neuron['neuron'])}", fontsize=7)
        for ax in list(axes.flat)[len(own):]:
            ax.axis("off")
        associated = int((own["digit"] >= 0).sum())
        grid.suptitle(f"Fig. 6: p = {p:g}, seed {seed}: firing counts per digit of {len(own)} random hidden "
                      f"neurons; {associated} digit-associated (red)", fontsize=9)
    save_figure(fig, out)


@RENDERERS.register("sparsity_table_cifar")
def render_sparsity_table_cifar(
    curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str
) -> pd.DataFrame:
    """§6.4's CIFAR-10 comparison as a LaTeX table: test accuracy and, per ReLU layer, the fraction of
    active units for a typical test input, without and with label smoothing (mean over seeds); the
    penultimate layer (the paper's 46.9% vs 27.5%) is marked."""
    from labelrepro.core import atomic

    levels = sorted(final["label_smoothing"].unique())
    keys = ["layer_index", "layer", "units", "penultimate", "label_smoothing"]
    table = final.groupby(keys)["active_frac"].mean()
    table = table.unstack("label_smoothing").reset_index()
    accuracy = final.groupby("label_smoothing")["test_acc"].mean()
    head = " & ".join(f"LS $p = {p:g}$" for p in levels)
    lines = [r"\begin{tabular}{llr" + "r" * len(levels) + "}", r"\toprule",
             f"layer & ReLU & units & {head} \\\\", r"\midrule",
             "test accuracy & & & " + " & ".join(f"{100 * accuracy[p]:.1f}\\%" for p in levels) + r" \\",
             r"\midrule"]
    for _, row in table.iterrows():
        name = str(row["layer"]).replace("_", r"\_")
        mark = r" $\leftarrow$ penultimate" if bool(row["penultimate"]) else ""
        cells = " & ".join(f"{100 * row[p]:.1f}\\%" for p in levels)
        lines.append(f"{int(row['layer_index']) + 1} & {name}{mark} & {int(row['units'])} & {cells} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    note = "" if scale == "paper" else f"\n% SMOKE SCALE: not the paper's settings or data ({scale})"
    seeds = final["seed"].nunique()
    caption = (f"% ResNet-20 on CIFAR-10, {seeds} seed(s): fraction of active units per ReLU layer for a "
               f"typical test input, without and with label smoothing{note}")
    atomic.write_text(out, caption + "\n" + "\n".join(lines) + "\n")
    table.columns = [str(c) for c in table.columns]
    return table.assign(**{f"test_acc_{p:g}": accuracy[p] for p in levels})
