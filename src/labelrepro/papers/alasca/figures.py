"""Figures 1, 2b, 3 and 4 of seed 002 (Ko, Yi & Yun, ALASCA): aggregators and renderers.

* Fig. 3 (`alasca_fig3`): instantaneous vs EMA confidence per epoch, mean ± std over the clean and the
  noisy training samples, from the per-epoch columns the trainer logs with `log_confidence`
  (papers/alasca/confidence.py). Aggregate (`alasca_confidence_summary`), one row per run: the
  clean − noisy gap of the mean confidence and the per-sample change between visits, averaged over the
  epochs, for both confidences.
* Figs. 1 and 2b (`alasca_fig1`, `alasca_fig2b`): statistics of saved models computed by the analysis
  step (papers/alasca/jacobian.py, `python -m labelrepro alasca-model-stats`), which writes the
  per-sample table (`samples.csv`: class, clean or noisy, penultimate norm ‖h(x)‖, Jacobian norm
  ‖∂h/∂x‖_F) and the aggregate rows these renderers read.
* Fig. 4 (`alasca_fig4`): (a) Co-teaching's per-epoch selection F1 (the trainer's `select_f1`) and (b)
  the final test accuracy against each method's swept hyperparameter, each without and with ALASCA;
  one tidy aggregate (`alasca_fig4`) with a `panel` column.

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


# -- Fig. 4: Co-teaching's selection F1 (a) and accuracy against each method's hyperparameter (b) ---------

#: Fig. 4b: per method, the setting its sweep varies (a grid key of alasca_fig4), the axis label, log x
FIG4_SWEEPS = {
    "standard": ("weight_decay", "weight decay", True),
    "elr": ("elr_lam", r"ELR regularisation coefficient $\lambda$", False),
    "coteaching": ("coteach_num_gradual", "warm-up epochs (forget-rate ramp)", False),
    "crust": ("crust_fraction", "coreset size (fraction of each class)", False),
}
FIG4_DATASETS = {"symm80": "CIFAR-10", "c100_symm80": "CIFAR-100"}
FIG4_VARIANTS = {"base": "tab:blue", "alasca": "tab:red"}
FIG4_LABELS = {"standard": "Standard", "elr": "ELR", "coteaching": "Co-teaching", "crust": "CRUST"}


def _fig4_panels(curves: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(panel (a) rows, panel (b) rows): a cell belongs to (b) when its grid point sets its method's swept
    setting, and to (a) when it is a Co-teaching cell that sets none (the table's warm-up)."""
    swept = pd.Series(False, index=curves.index)
    for method, (column, *_) in FIG4_SWEEPS.items():
        if column in curves.columns:
            swept |= (curves["method"] == method) & curves[column].notna()
    others = [column for column, *_ in FIG4_SWEEPS.values() if column in curves.columns]
    plain = ~curves[others].notna().any(axis=1) if others else pd.Series(True, index=curves.index)
    return curves[plain & (curves["method"] == "coteaching")], curves[swept]


def _seed_stats(values: pd.Series) -> tuple[float, float, int]:
    """Mean, std over seeds (ddof 1; 0 for one seed, as the tables) and the number of seeds."""
    values = values.dropna().astype(float)
    n = len(values)
    if n == 0:
        return float("nan"), float("nan"), 0
    return float(values.mean()), float(values.std(ddof=1)) if n > 1 else 0.0, n


@AGGREGATORS.register("alasca_fig4")
def fig4_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Fig. 4's tidy table, one `panel` per kind of row:

    * `a`: per (noise, variant, seed, epoch) Co-teaching's selection F1 (`select_f1`, with its precision
      TP/|selected| and recall TP/|correctly labelled|);
    * `a_summary`: per (noise, variant) the epoch mean and the last epoch of the seed-mean F1, and (ALASCA
      rows) `frac_epochs_above_base`, the share of epochs whose seed-mean F1 exceeds the base run's;
    * `b`: per (method, hyperparameter value, variant) the mean ± std over seeds of the final
      `test_acc_avg` (Table 1's accuracy: the mean test accuracy of the last `report_last_epochs` epochs);
    * `b_summary`: per (method, variant) over the swept values: the mean of those means, their minimum and
      their range (max − min), the flatness Fig. 4b shows.
    """
    rows_a, rows_b = _fig4_panels(curves)
    records: list[dict] = []
    seed_means: dict[tuple[str, str], pd.Series] = {}
    epochs = rows_a.drop_duplicates(["noise", "variant", "seed", "epoch"]).sort_values("epoch")
    for (noise, variant), run in epochs.groupby(["noise", "variant"], sort=True):
        for row in run.itertuples():
            tp, selected, clean = row.select_tp, row.select_n, row.select_clean
            records.append({
                "panel": "a", "dataset": FIG4_DATASETS.get(noise, noise), "noise": noise,
                "method": "coteaching", "variant": variant, "seed": row.seed, "epoch": row.epoch,
                "select_f1": row.select_f1,
                "select_precision": tp / selected if selected else float("nan"),
                "select_recall": tp / clean if clean else float("nan"),
            })
        seed_means[(noise, variant)] = run.groupby("epoch")["select_f1"].mean()
    for (noise, variant), f1 in seed_means.items():
        record = {"panel": "a_summary", "dataset": FIG4_DATASETS.get(noise, noise), "noise": noise,
                  "method": "coteaching", "variant": variant, "select_f1": float(f1.mean()),
                  "select_f1_last": float(f1.iloc[-1]),
                  "n_seeds": int(epochs[(epochs["noise"] == noise) & (epochs["variant"] == variant)]
                                 ["seed"].nunique())}
        base = seed_means.get((noise, "base"))
        if variant != "base" and base is not None:
            common = f1.index.intersection(base.index)
            record["frac_epochs_above_base"] = (float((f1[common] > base[common]).mean())
                                                if len(common) else float("nan"))
        records.append(record)
    final = rows_b.sort_values("epoch").groupby(["cell", "seed"], sort=False).tail(1)
    per_value: list[dict] = []
    for method, (column, *_) in FIG4_SWEEPS.items():
        if column not in final.columns:
            continue
        runs = final[final["method"] == method]
        for (noise, variant, value), group in runs.groupby(["noise", "variant", column], sort=True):
            mean, std, n = _seed_stats(group.drop_duplicates("seed")["test_acc_avg"])
            per_value.append({"panel": "b", "dataset": FIG4_DATASETS.get(noise, noise), "noise": noise,
                              "method": method, "variant": variant, "hyperparameter": column,
                              "value": float(value), "test_acc_avg_mean": mean,
                              "test_acc_avg_std": std, "n_seeds": n})
    records += per_value
    if per_value:
        table = pd.DataFrame(per_value)
        for (noise, method, variant), group in table.groupby(["noise", "method", "variant"], sort=False):
            means = group["test_acc_avg_mean"]
            records.append({"panel": "b_summary", "dataset": group["dataset"].iloc[0], "noise": noise,
                            "method": method, "variant": variant,
                            "hyperparameter": group["hyperparameter"].iloc[0],
                            "test_acc_avg_mean": float(means.mean()), "test_acc_min": float(means.min()),
                            "test_acc_range": float(means.max() - means.min()), "n_values": len(group)})
    return pd.DataFrame(records)


def _fig4_label(method: str, variant: str, note: str) -> str:
    return f"{FIG4_LABELS[method]}{' + ALASCA' if variant == 'alasca' else ''} ({note})"


@RENDERERS.register("alasca_fig4")
def render_alasca_fig4(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. 4: (a, top) Co-teaching's selection F1 per epoch, CIFAR-10 and CIFAR-100 with 80% symmetric
    noise, mean ± std over seeds; (b, bottom) test accuracy (%) against each method's hyperparameter,
    mean ± std over seeds; blue without, red with ALASCA."""
    plt, _ = setup()
    from matplotlib.ticker import MaxNLocator

    fig = plt.figure(figsize=(14, 7))
    grid = fig.add_gridspec(2, 4, height_ratios=(1, 1))
    summary_a = final[final["panel"] == "a_summary"]
    rows_a = final[final["panel"] == "a"]
    for k, (noise, dataset) in enumerate(FIG4_DATASETS.items()):
        ax = fig.add_subplot(grid[0, 2 * k: 2 * k + 2])
        for variant, colour in FIG4_VARIANTS.items():
            rows = rows_a[(rows_a["noise"] == noise) & (rows_a["variant"] == variant)]
            if rows.empty:
                continue
            per_epoch = rows.groupby("epoch")["select_f1"]
            mean, std = per_epoch.mean(), per_epoch.std(ddof=1).fillna(0.0)
            epoch_mean = summary_a[(summary_a["noise"] == noise) & (summary_a["variant"] == variant)]
            note = f"mean over epochs {epoch_mean['select_f1'].iloc[0]:.3f}" if len(epoch_mean) else ""
            ax.plot(mean.index, mean, color=colour, marker="." if len(mean) < 20 else None,
                    label=_fig4_label("coteaching", variant, note), linewidth=1.4)
            ax.fill_between(mean.index, mean - std, mean + std, color=colour, alpha=0.2, linewidth=0)
        ax.set_title(f"(a) {dataset}, 80% symmetric noise: Co-teaching's selection", fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("F1 of the selected samples\n(vs. the correctly labelled ones)")
        if ax.has_data():
            ax.legend(fontsize=7, loc="best")
    rows_b = final[final["panel"] == "b"]
    summary_b = final[final["panel"] == "b_summary"]
    for k, (method, (_column, xlabel, log_x)) in enumerate(FIG4_SWEEPS.items()):
        ax = fig.add_subplot(grid[1, k])
        values: set[float] = set()
        for variant, colour in FIG4_VARIANTS.items():
            rows = rows_b[(rows_b["method"] == method) & (rows_b["variant"] == variant)].sort_values("value")
            if rows.empty:
                continue
            values |= set(rows["value"])
            spread = summary_b[(summary_b["method"] == method) & (summary_b["variant"] == variant)]
            note = f"range {100 * spread['test_acc_range'].iloc[0]:.1f} pt" if len(spread) else ""
            ax.errorbar(rows["value"], 100 * rows["test_acc_avg_mean"], yerr=100 * rows["test_acc_avg_std"],
                        color=colour, marker="o", capsize=3, linewidth=1.4,
                        label=_fig4_label(method, variant, note))
        if log_x:
            ax.set_xscale("log")
        if values:
            ax.set_xticks(sorted(values))
            ax.set_xticklabels([f"{v:g}" for v in sorted(values)], fontsize=7)
            ax.legend(fontsize=7)
        ax.set_title(f"(b) {FIG4_LABELS[method]}", fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        if k == 0:
            ax.set_ylabel("test accuracy (%, CIFAR-10, 80% symm.)")
    fig.suptitle("Fig. 4: ALASCA and the feature extractor (blue: without, red: with ALASCA; "
                 f"mean ± std over seeds){scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)
