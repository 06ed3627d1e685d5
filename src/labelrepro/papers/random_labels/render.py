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


#: Fig. 2's panels: grid column, panel title, x-axis label.
FIG2_PANELS: tuple[tuple[str, str, str], ...] = (
    ("dropout", "A: dropout", "dropout rate (inside the WRN blocks)"),
    ("weight_decay", "B: weight decay", "weight decay (dashed: heads not decayed)"),
    ("label_smoothing", "C: label smoothing", "label smoothing δ (A.4 Eq. 2)"),
)
ACCURACIES: dict[str, str] = {"rnd_acc": "random labels (train)", "train_acc": "train", "test_acc": "test"}


def _categorical_x(ax, values: list[float]) -> dict[float, int]:
    """Evenly spaced x positions for grid values (0 and log-spaced values side by side), labelled."""
    positions = {v: i for i, v in enumerate(sorted(values))}
    ax.set_xticks(list(positions.values()))
    ax.set_xticklabels([f"{v:g}" for v in positions], fontsize=8)
    return positions


def _mean_sd(frame: pd.DataFrame, keys: list[str], metric: str) -> pd.DataFrame:
    """Mean and sd (0 for one seed) of `metric` per combination of `keys`."""
    grouped = frame.groupby(keys, sort=True)[metric]
    return pd.DataFrame({"mean": grouped.mean(), "sd": grouped.std(ddof=1).fillna(0.0)}).reset_index()


@RENDERERS.register("fig2")
def render_fig2(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 2: random-label, train and test accuracy against each regulariser's strength (one panel each;
    a panel's rows are the cells of its sub-grid, i.e. where its column is set)."""
    plt, _ = setup()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharey=True)
    n_random = _num_random_labels(curves)
    for ax, (column, title, xlabel) in zip(axes, FIG2_PANELS, strict=True):
        panel = final[final[column].notna()] if column in final.columns else final.iloc[0:0]
        if panel.empty:
            ax.set_title(f"{title} (no runs)", fontsize=9)
            continue
        panel = panel.assign(**{column: panel[column].astype(float)})
        positions = _categorical_x(ax, panel[column].unique().tolist())
        exempt = _heads_exempt(panel)
        for k, (metric, label) in enumerate(ACCURACIES.items()):
            stats = _mean_sd(panel[~exempt], [column], metric)
            ax.errorbar(stats[column].map(positions), stats["mean"], yerr=stats["sd"], marker="o", capsize=2,
                        label=label, color=f"C{k}")
            if exempt.any() and metric != "train_acc":
                # B's second line: the random-label heads not decayed (from the shared undecayed point).
                line = pd.concat([panel[~exempt & (panel[column] == 0)], panel[exempt]])
                stats = _mean_sd(line, [column], metric)
                ax.errorbar(stats[column].map(positions), stats["mean"], yerr=stats["sd"], marker="s",
                            capsize=2, linestyle="--", color=f"C{k}", label=f"{label}, heads not decayed")
        ax.axhline(1.0 / n_random, color="grey", linestyle="--", linewidth=1, label="random-label chance")
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("accuracy")
    axes[0].set_ylim(0, 1.02)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"WRN-16-4, CIFAR-100, n = {n_random}, λ = 0{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


def _heads_exempt(frame: pd.DataFrame) -> pd.Series:
    """Rows of runs whose random-label heads were exempt from weight decay (`head_weight_decay: false`)."""
    if "head_weight_decay" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame["head_weight_decay"].astype(str).str.lower().eq("false")


@RENDERERS.register("fig3bc")
def render_fig3bc(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 3B+C: (B) random-label accuracy and (C) test accuracy against λ, one line per weight decay."""
    plt, _ = setup()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    n_random = _num_random_labels(curves)
    data = final.assign(lam=final["lam"].astype(float), weight_decay=final["weight_decay"].astype(float))
    for ax, (metric, title) in zip(
        axes, (("rnd_acc", "B: random-label accuracy (train)"), ("test_acc", "C: test accuracy")), strict=True
    ):
        positions = _categorical_x(ax, data["lam"].unique().tolist())
        for wd, group in data.groupby("weight_decay"):
            stats = _mean_sd(group, ["lam"], metric)
            label = "no weight decay" if wd == 0 else f"weight decay {wd:g}"
            ax.errorbar(stats["lam"].map(positions), stats["mean"], yerr=stats["sd"], marker="o", capsize=2,
                        label=label)
        if metric == "rnd_acc":
            ax.axhline(1.0 / n_random, color="grey", linestyle="--", linewidth=1, label="chance")
        ax.set_xlabel("λ (weight of L_reg)")
        ax.set_ylabel(title.split(": ")[1])
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(f"WRN-16-4, CIFAR-100, n = {n_random}{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


def _heatmap(ax, frame: pd.DataFrame, rows: str, columns: str, title: str, xlabel: str) -> None:
    """Test accuracy (%) of a rows × columns grid, annotated (mean over seeds)."""
    import seaborn as sns

    table = frame.assign(test_pct=100 * frame["test_acc"]).pivot_table(
        index=rows, columns=columns, values="test_pct", aggfunc="mean"
    ).sort_index(ascending=False)
    table.index = [f"{v:g}" for v in table.index]
    table.columns = [f"{v:g}" for v in table.columns]
    sns.heatmap(table, annot=True, fmt=".1f", cmap="viridis", cbar_kws={"label": "test accuracy (%)"}, ax=ax,
                annot_kws={"fontsize": 7})
    ax.set_ylabel("λ")
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=9)


@RENDERERS.register("figA1")
def render_figA1(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:  # noqa: N802
    """Fig. A.1: test accuracy over λ × learning rate, (A) without and (B) with flip + crop + cutout."""
    plt, _ = setup()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    panels = (("none", "A: no augmentation"), ("flip_crop_cutout", "B: flip + crop + cutout"))
    data = final.assign(lam=final["lam"].astype(float), eta=final["eta"].astype(float))
    for ax, (name, title) in zip(axes, panels, strict=True):
        panel = data[data["augmentation"] == name]
        if panel.empty:
            ax.set_title(f"{title} (no runs)", fontsize=9)
            continue
        _heatmap(ax, panel, "lam", "eta", title, "base learning rate η")
    fig.suptitle(f"WRN-16-4, CIFAR-100, n = {_num_random_labels(curves)}{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


@RENDERERS.register("figA2")
def render_figA2(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:  # noqa: N802
    """Fig. A.2: test accuracy over λ × label-smoothing δ."""
    plt, _ = setup()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    data = final.assign(lam=final["lam"].astype(float),
                        label_smoothing=final["label_smoothing"].astype(float))
    _heatmap(ax, data, "lam", "label_smoothing", "test accuracy", "label smoothing δ (A.4 Eq. 2)")
    ax.set_title(f"WRN-16-4, CIFAR-100, n = {_num_random_labels(curves)}{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


@RENDERERS.register("figA3")
def render_figA3(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:  # noqa: N802
    """Fig. A.3: test accuracy of the standard network and the single-output variant (Eq. 5), without
    and with weight decay (bars: mean over seeds, whiskers: sd)."""
    plt, _ = setup()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    names = {"standard": "standard (class head, λ = 0)", "single_output": "single output (Eq. 5)"}
    data = final.assign(weight_decay=final["weight_decay"].astype(float))
    decays = sorted(data["weight_decay"].unique())
    width = 0.38
    for k, (variant, label) in enumerate(names.items()):
        stats = _mean_sd(data[data["variant"] == variant], ["weight_decay"], "test_acc")
        x = [decays.index(v) + (k - 0.5) * width for v in stats["weight_decay"]]
        bars = ax.bar(x, 100 * stats["mean"], width, yerr=100 * stats["sd"], capsize=3, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(decays)))
    ax.set_xticklabels(["no weight decay" if v == 0 else f"weight decay {v:g}" for v in decays])
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8)
    ax.set_title(f"WRN-16-4, CIFAR-100, n = {_num_random_labels(curves)}, flip + crop + cutout"
                 f"{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)
