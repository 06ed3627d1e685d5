"""Figures and the table of seed 004 (Lienen & Hüllermeier, supplement)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labelrepro.core.plotting import save_figure, scale_note, setup
from labelrepro.registry import RENDERERS


@RENDERERS.register("relax_fig1")
def render_relax_fig1(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """A.3, Fig. 1: label smoothing (left) and L* with the KL divergence (right) on the 3-class simplex.

    As in the paper: the true class's corner at the lower right, the smoothed target (black point), the
    border of Q^α (black dashed), a prediction outside Q^α and its projection p^r (red points). Beyond
    the paper, both panels shade their loss over the simplex on one colour scale: LS as D_KL(target ‖ p̂)
    (its cross-entropy minus the target's constant entropy, so zero only at the target), L* zero on all
    of Q^α and growing outside it.
    """
    plt, _ = setup()
    import mpltern  # noqa: F401  (registers the 'ternary' projection)
    import numpy as np

    del final
    grid = curves[curves["kind"] == "grid"]
    point = {kind: curves[curves["kind"] == kind].iloc[0]
             for kind in ("ls_target", "prediction", "projection")}
    alpha = 1 - point["projection"]["p_true"]
    # mpltern's axes (t, l, r) = (top, left, right): the true class is the right corner (lower right).
    t, left, r = grid["p_a"].to_numpy(), grid["p_b"].to_numpy(), grid["p_true"].to_numpy()
    top = float(np.ceil(max(grid["ls_kl"].max(), grid["lr_loss"].max())))
    # Exact zeros (all of Q^α for L*) fall below the first level and are painted white ("under").
    levels = [1e-12, *np.linspace(0.1, top, 20)]
    cmap = plt.get_cmap("viridis").copy()
    cmap.set_under("white")
    fig = plt.figure(figsize=(12.5, 5.2))
    panels = [
        ("ls_kl", f"(a) label smoothing, α = {alpha:g}: D_KL(smoothed target ‖ p̂)"),
        ("lr_loss", f"(b) label relaxation, α = {alpha:g}: L*(Q^α, p̂)"),
    ]
    axes = []
    for index, (column, title) in enumerate(panels, start=1):
        ax = fig.add_subplot(1, 2, index, projection="ternary")
        shading = ax.tricontourf(t, left, r, grid[column].to_numpy(), levels=levels, cmap=cmap, extend="min")
        ax.set_tlabel("p̂(class 2)")
        ax.set_llabel("p̂(class 3)")
        ax.set_rlabel("p̂(true class y)")
        ax.taxis.set_label_position("tick1")
        ax.laxis.set_label_position("tick1")
        ax.raxis.set_label_position("tick1")
        ax.set_title(title, pad=34, fontsize=10)
        ax.grid(False)
        axes.append(ax)
    fig.subplots_adjust(wspace=0.55, left=0.06, right=0.86, top=0.78, bottom=0.12)
    ls_ax, lr_ax = axes
    target = point["ls_target"]
    ls_ax.scatter([target["p_a"]], [target["p_b"]], [target["p_true"]], color="black", s=30, zorder=5,
                  label="smoothed target")
    ls_ax.legend(loc="upper left", fontsize=8, frameon=False, bbox_to_anchor=(-0.15, 1.08))
    # Q^α's border: p_y = 1 − α, from (other, other) = (α, 0) to (0, α).
    lr_ax.plot([alpha, 0.0], [0.0, alpha], [1 - alpha, 1 - alpha], color="black", linestyle="--",
               linewidth=1.2, label="border of Q^α")
    pred, proj = point["prediction"], point["projection"]
    lr_ax.plot([pred["p_a"], proj["p_a"]], [pred["p_b"], proj["p_b"]], [pred["p_true"], proj["p_true"]],
               color="red", linewidth=0.8, linestyle=":")
    lr_ax.scatter([pred["p_a"], proj["p_a"]], [pred["p_b"], proj["p_b"]], [pred["p_true"], proj["p_true"]],
                  color="red", s=30, zorder=5, label="prediction p̂ → projection p^r")
    lr_ax.legend(loc="upper left", fontsize=8, frameon=False, bbox_to_anchor=(-0.15, 1.08))
    lr_ax.text(0.02, 0.02, 0.96, "L* = 0", fontsize=7, ha="center", va="center")
    bar_ax = fig.add_axes((0.9, 0.18, 0.015, 0.55))
    bar = fig.colorbar(shading, cax=bar_ax, ticks=np.linspace(0, top, 5)[1:])
    bar.set_label("loss (nats); white = exactly 0")
    fig.suptitle(
        f"Barycentric view, 3 classes: L*(p̂) = {pred['lr_loss']:.3f} at the red prediction"
        + scale_note(scale), fontsize=9, y=0.98,
    )
    save_figure(fig, out)


DATASET_LABELS = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10",
                  "cifar100": "CIFAR-100"}
MODEL_LABELS = {"mlp": "MLP 2$\\times$1024", "resnet56": "ResNet-56 v2", "vgg16": "VGG16 (BN, dropout)",
                "densenet100": "DenseNet-BC-100"}


def table_cells(final: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over seeds per (dataset, model, method), in the aggregate's row order (= table order)."""
    keys = ["dataset", "model", "method"]
    cells = final.groupby(keys, sort=False).agg(
        test_acc_mean=("test_acc", "mean"), test_acc_std=("test_acc", "std"),
        test_ece_mean=("test_ece", "mean"), test_ece_std=("test_ece", "std"),
        n_seeds=("seed", "nunique"),
        strengths=("strength", lambda s: " ".join(f"{v:g}" for v in s)),
    )
    return cells.reset_index()


def latex_table(cells: pd.DataFrame, scale: str) -> str:
    """Rows = dataset × model; columns = the losses' accuracy (%) and then their ECE (%); best in bold."""
    from labelrepro.papers.relaxation.methods import METHODS

    methods = [m for m in METHODS.in_order() if m in set(cells["method"])]
    rows = list(dict.fromkeys(zip(cells["dataset"], cells["model"], strict=True)))
    lookup = {(r.dataset, r.model, r.method): r for r in cells.itertuples(index=False)}

    def entries(dataset: str, model: str, metric: str, best_is_max: bool) -> list[str]:
        values = {m: lookup[(dataset, model, m)] for m in methods if (dataset, model, m) in lookup}
        means = {m: round(100 * getattr(v, f"{metric}_mean"), 2) for m, v in values.items()}
        best = (max if best_is_max else min)(means.values()) if means else None
        out = []
        for m in methods:
            if m not in values:
                out.append("--")
                continue
            std = getattr(values[m], f"{metric}_std")
            text = f"{means[m]:.2f}" + ("" if pd.isna(std) else f" $\\pm$ {100 * std:.2f}")
            out.append(f"\\textbf{{{text}}}" if means[m] == best else text)
        return out

    labels = [METHODS[m].label for m in methods]
    n = len(methods)
    seeds = int(cells["n_seeds"].max())
    caption = (f"Test accuracy and expected calibration error (15 equal-width bins), both in \\%, mean "
               f"$\\pm$ std over {seeds} seed(s); each loss's strength chosen per seed on a held-out "
               "validation part (seed 004, Lienen \\& H\\\"ullermeier). Best per row in bold (highest "
               "accuracy, lowest ECE).")
    if scale != "paper":
        caption += f" \\textbf{{[{scale} scale: not the paper's settings or data]}}"
    lines = [
        "\\begin{table}[h]\\centering",
        f"\\caption{{{caption}}}",
        f"\\resizebox{{\\linewidth}}{{!}}{{\\begin{{tabular}}{{ll{'c' * (2 * n)}}}",
        "\\toprule",
        f" & & \\multicolumn{{{n}}}{{c}}{{accuracy (\\%)}} & \\multicolumn{{{n}}}{{c}}{{ECE (\\%)}} \\\\",
        f"\\cmidrule(lr){{3-{2 + n}}} \\cmidrule(lr){{{3 + n}-{2 + 2 * n}}}",
        "Dataset & Model & " + " & ".join(labels + labels) + " \\\\",
        "\\midrule",
    ]
    for dataset, model in rows:
        acc = entries(dataset, model, "test_acc", True)
        ece = entries(dataset, model, "test_ece", False)
        lines.append(f"{DATASET_LABELS.get(dataset, dataset)} & {MODEL_LABELS.get(model, model)} & "
                     + " & ".join(acc + ece) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}}", "\\end{table}", ""]
    return "\n".join(lines)


@RENDERERS.register("relax_table")
def render_relax_table(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> pd.DataFrame:
    """The accuracy / ECE table; returns its cells (paper/tables/relax_table.csv)."""
    from labelrepro.core import atomic

    del curves
    cells = table_cells(final)
    atomic.write_text(out, latex_table(cells, scale))
    return cells


@RENDERERS.register("relax_reliability")
def render_relax_reliability(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """One reliability diagram per dataset (rows) × loss (columns): bin accuracy against bin confidence
    (bars, pooled over seeds), the diagonal of perfect calibration, the gap shaded, and the share of test
    samples per bin (light bars on a second axis); the panel title gives the mean ECE."""
    plt, _ = setup()
    from labelrepro.papers.relaxation.methods import METHODS

    del curves
    keys = list(dict.fromkeys(zip(final["dataset"], final["model"], strict=True)))
    methods = [m for m in METHODS.in_order() if m in set(final["method"])]
    fig, axes = plt.subplots(len(keys), len(methods), figsize=(2.6 * len(methods), 2.7 * len(keys)),
                             squeeze=False, sharex=True, sharey=True)
    for i, (dataset, model) in enumerate(keys):
        for j, method in enumerate(methods):
            ax = axes[i][j]
            part = final[(final["dataset"] == dataset) & (final["model"] == model)
                         & (final["method"] == method)]
            width = float((part["upper"] - part["lower"]).iloc[0]) if len(part) else 1 / 15
            centres = (part["lower"] + part["upper"]) / 2
            accuracy = part["accuracy"].fillna(0)
            ax.bar(centres, accuracy, width=width * 0.95, color="tab:blue", edgecolor="navy", linewidth=0.4,
                   label="accuracy")
            ax.bar(centres, (part["confidence"] - accuracy).where(part["count"] > 0, 0), bottom=accuracy,
                   width=width * 0.95, color="tab:red", alpha=0.3, label="gap to confidence")
            ax.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=0.8)
            share = part["count"] / max(1, part["count"].sum())
            twin = ax.twinx()
            twin.bar(centres, share, width=width * 0.5, color="grey", alpha=0.35)
            twin.set_ylim(0, 1)
            twin.set_yticks([])
            ece = part["test_ece_mean"].iloc[0] if len(part) else float("nan")
            ax.set_title(f"{DATASET_LABELS.get(dataset, dataset)}, {METHODS[method].label}: "
                         f"ECE {100 * ece:.2f}%", fontsize=8)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            if i == len(keys) - 1:
                ax.set_xlabel("confidence")
            if j == 0:
                ax.set_ylabel(MODEL_LABELS.get(model, model).replace("$\\times$", "×") + "\naccuracy")
    axes[0][0].legend(loc="upper left", fontsize=6, frameon=False)
    fig.suptitle("Reliability diagrams, test part, each loss at its validation-chosen strength "
                 "(grey: share of samples per bin)" + scale_note(scale), fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)
