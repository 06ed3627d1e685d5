"""Figures 1, 2b and 3 of seed 002 (Ko, Yi & Yun, ALASCA): aggregators and renderers.

* Fig. 3 (`alasca_fig3`): instantaneous vs EMA confidence per epoch, mean ± std over the clean and the
  noisy training samples, from the per-epoch columns the trainer logs with `log_confidence`
  (papers/alasca/confidence.py). Aggregate (`alasca_confidence_summary`), one row per run: the
  clean − noisy gap of the mean confidence and the per-sample change between visits, averaged over the
  epochs, for both confidences.
* Figs. 1 and 2b (`alasca_fig1`, `alasca_fig2b`): statistics of saved models computed by the analysis
  step (papers/alasca/jacobian.py, `python -m labelrepro alasca-model-stats`), which writes the
  per-sample table (`samples.csv`: class, clean or noisy, penultimate norm ‖h(x)‖, Jacobian norm
  ‖∂h/∂x‖_F) and the aggregate rows these renderers read.

matplotlib is imported inside the renderers (`core.plotting.setup`), pandas only here.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labelrepro.core.plotting import save_figure, scale_note, setup
from labelrepro.registry import AGGREGATORS, RENDERERS

CONF_KINDS = {"inst": "instantaneous confidence", "ema": "EMA confidence"}
GROUP_COLOURS = {"clean": "tab:blue", "noisy": "tab:orange"}


@AGGREGATORS.register("alasca_confidence_summary")
def confidence_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Per run (cell, seed): the epoch means of the clean − noisy gap and of the per-sample change of
    both confidences, next to the last epoch's row (test accuracy and the final confidences)."""
    records = []
    for _, run in curves.sort_values("epoch").groupby(["cell", "seed"], sort=True):
        record = run.iloc[-1].to_dict()
        for kind in CONF_KINDS:
            clean, noisy = run[f"conf_{kind}_clean_mean"], run[f"conf_{kind}_noisy_mean"]
            pooled = ((run[f"conf_{kind}_clean_std"] ** 2 + run[f"conf_{kind}_noisy_std"] ** 2) / 2) ** 0.5
            record[f"gap_{kind}"] = float((clean - noisy).mean())
            record[f"separation_{kind}"] = float(((clean - noisy) / pooled.where(pooled > 0)).mean())
            for group in GROUP_COLOURS:
                record[f"change_{kind}_{group}"] = float(run[f"conf_{kind}_{group}_change"].mean())
        records.append(record)
    return pd.DataFrame(records)


@RENDERERS.register("alasca_fig3")
def render_alasca_fig3(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 3: instantaneous (left) and EMA confidence (right) per epoch, mean ± std over samples, clean
    (blue) and noisy (orange) training samples; one run (the first seed if there are several)."""
    plt, _ = setup()
    run = curves[curves["seed"] == curves["seed"].min()].sort_values("epoch")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, (kind, title) in zip(axes, CONF_KINDS.items(), strict=True):
        for group, colour in GROUP_COLOURS.items():
            mean, std = run[f"conf_{kind}_{group}_mean"], run[f"conf_{kind}_{group}_std"]
            ax.plot(run["epoch"], mean, color=colour, label=group, linewidth=1.3)
            ax.fill_between(run["epoch"], mean - std, mean + std, color=colour, alpha=0.25, linewidth=0)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylim(-0.02, 1.02)
    axes[0].set_ylabel(r"confidence $S(\cdot)_{\tilde y}$ (mean $\pm$ std)")
    axes[0].legend(loc="lower right")
    row = final.iloc[0]
    summary = ", ".join(
        f"{kind} gap {row[f'gap_{kind}']:.2f}, change (noisy) {row[f'change_{kind}_noisy']:.3f}"
        for kind in CONF_KINDS
    )
    fig.suptitle(f"CIFAR-10, 40% asymmetric noise, ALASCA; epoch means: {summary}{scale_note(scale)}",
                 fontsize=8)
    fig.tight_layout()
    save_figure(fig, out)


def _median(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].median()) if len(frame) else float("nan")


@AGGREGATORS.register("alasca_model_stats")
def model_stats_summary(samples: pd.DataFrame) -> pd.DataFrame:
    """Per run (cell, seed), from the per-sample table: the mean over classes of the class-wise mean
    ‖h(x)‖ (Fig. 1 left, classes by the given label), the mean and median ‖J‖_F (Fig. 1 right), and the
    same Jacobian statistics of the clean and the noisy samples with their noisy / clean ratio (Fig. 2b)."""
    point_columns = [c for c in samples.columns if c not in _SAMPLE_COLUMNS]
    records = []
    for _, run in samples.groupby(["cell", "seed"], sort=True):
        record = run.iloc[0][point_columns].to_dict()
        classwise = run.groupby("label")["feature_norm"].mean()
        clean, noisy = run[~run["noisy"].astype(bool)], run[run["noisy"].astype(bool)]
        record.update({
            "n_samples": len(run),
            "n_noisy": len(noisy),
            "feature_norm_classwise": float(classwise.mean()),
            "feature_norm_class_min": float(classwise.min()),
            "feature_norm_class_max": float(classwise.max()),
            "jacobian_mean": float(run["jacobian_norm"].mean()),
            "jacobian_median": _median(run, "jacobian_norm"),
            "jacobian_clean_median": _median(clean, "jacobian_norm"),
            "jacobian_noisy_median": _median(noisy, "jacobian_norm"),
            "jacobian_clean_mean": float(clean["jacobian_norm"].mean()) if len(clean) else float("nan"),
            "jacobian_noisy_mean": float(noisy["jacobian_norm"].mean()) if len(noisy) else float("nan"),
        })
        record["jacobian_noisy_over_clean"] = (record["jacobian_noisy_median"]
                                               / record["jacobian_clean_median"])
        records.append(record)
    return pd.DataFrame(records)


_SAMPLE_COLUMNS = {"sample", "label", "true_label", "noisy", "feature_norm", "jacobian_sq", "jacobian_norm"}


@RENDERERS.register("alasca_fig1")
def render_alasca_fig1(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 1: class-wise mean ‖h(x)‖ per smoothing factor (left) and the distribution of ‖∂h/∂x‖_F per
    smoothing factor (right), training samples of the ULS runs."""
    plt, sns = setup()
    alphas = sorted(curves["uls_alpha"].unique())
    palette = dict(zip(alphas, sns.color_palette("viridis", n_colors=len(alphas)), strict=True))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    classwise = curves.groupby(["uls_alpha", "label"])["feature_norm"].mean().reset_index()
    for alpha in alphas:
        rows = classwise[classwise["uls_alpha"] == alpha]
        left.plot(rows["label"], rows["feature_norm"], marker="o", color=palette[alpha],
                  label=f"α = {alpha:g}")
    left.set_xlabel("class (given label)")
    left.set_ylabel(r"mean $\|h(x)\|_2$")
    left.set_title("class-wise representation norm")
    left.legend(fontsize=7)
    data = curves.assign(alpha=curves["uls_alpha"].map(lambda a: f"{a:g}"))
    sns.boxplot(data=data, x="alpha", y="jacobian_norm", hue="alpha", palette=[palette[a] for a in alphas],
                order=[f"{a:g}" for a in alphas], ax=right, showfliers=False, legend=False)
    right.set_xlabel("smoothing factor α")
    right.set_ylabel(r"$\|\partial h / \partial x\|_F$")
    right.set_title("penultimate-layer Jacobian norm")
    first = final.sort_values("uls_alpha")
    trend = "; ".join(f"α={r.uls_alpha:g}: ‖h‖ {r.feature_norm_classwise:.3g}, ‖J‖ {r.jacobian_median:.3g}"
                      for r in first.itertuples())
    fig.suptitle(f"CIFAR-10, ULS (medians of ‖J‖): {trend}{scale_note(scale)}", fontsize=8)
    fig.tight_layout()
    save_figure(fig, out)


METHOD_NAMES = {"uls": "ULS", "als": "ALS"}


@RENDERERS.register("alasca_fig2b")
def render_alasca_fig2b(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 2b: distribution of ‖∂h/∂x‖_F of clean (blue) and noisy (orange) training samples, one panel
    per method (ULS, ALS), CIFAR-10 with 50% symmetric noise."""
    plt, sns = setup()
    methods = [m for m in METHOD_NAMES if m in set(curves["method"])]
    fig, axes = plt.subplots(1, len(methods), figsize=(4.6 * len(methods), 3.4), sharex=True, squeeze=False)
    data = curves.assign(group=curves["noisy"].astype(bool).map({False: "clean", True: "noisy"}))
    for ax, method in zip(axes[0], methods, strict=True):
        rows = data[data["method"] == method]
        sns.histplot(data=rows, x="jacobian_norm", hue="group", hue_order=list(GROUP_COLOURS),
                     palette=GROUP_COLOURS, stat="density", common_norm=False, element="step", ax=ax)
        summary = final[final["method"] == method].iloc[0]
        ax.set_title(f"{METHOD_NAMES[method]}: median noisy / clean = "
                     f"{summary['jacobian_noisy_over_clean']:.2f}", fontsize=9)
        ax.set_xlabel(r"$\|\partial h / \partial x\|_F$")
    fig.suptitle(f"CIFAR-10, 50% symmetric noise{scale_note(scale)}", fontsize=8)
    fig.tight_layout()
    save_figure(fig, out)
