"""Figs. A1-A3 of seed 001 (renderers): histograms of ‖μ‖ and ‖μ − g‖ for correct vs incorrect labels,
and the grid of the most confusing labels per class. The numbers come from `gradient_stats`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labelrepro.core.plotting import save_figure, scale_note, setup
from labelrepro.papers.limit.gradient_stats import TOP_PER_CLASS
from labelrepro.papers.limit.methods import METHODS
from labelrepro.registry import RENDERERS

DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def case_title(row: pd.Series) -> str:
    """'CIFAR-10, 40% pair (LIMIT_L + init., β = 1)'."""
    noise = "pair" if row.get("noise_model") == "pair" else "uniform"
    rate = float(row["noise_rate"])
    what = f"{rate:.0%} {noise}" if rate > 0 else "original labels"
    params = f"β = {float(row['beta']):g}" + (f", σ = {float(row['sigma']):g}" if float(row["sigma"]) else "")
    name = DATASET_NAMES.get(row["dataset"], row["dataset"])
    return f"{name}, {what}\n({METHODS[row['method']].paper_name}, {params})"


def _noisy(frame: pd.DataFrame) -> np.ndarray:
    return frame["noisy"].astype(str).str.lower().isin(["true", "1"]).to_numpy()


def _histograms(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str, column: str,
                xlabel: str, auc_keys: tuple[tuple[str, str], ...], headline: str) -> None:
    plt, _ = setup()
    cells = list(final["cell"])
    fig, axes = plt.subplots(1, len(cells), figsize=(3.6 * len(cells), 3.4), squeeze=False)
    for ax, cell in zip(axes[0], cells, strict=True):
        case = curves[curves["cell"] == cell]
        row = final[final["cell"] == cell].iloc[0]
        noisy = _noisy(case)
        values = case[column].to_numpy(dtype=float)
        low, high = float(values.min()), float(values.max())
        bins = np.linspace(low, high if high > low else low + 1e-6, 41)
        groups = ((~noisy, "correct label", "tab:blue"), (noisy, "incorrect label", "tab:red"))
        for mask, label, colour in groups:
            if mask.any():
                ax.hist(values[mask], bins=bins, alpha=0.55, color=colour,
                        label=f"{label} ({int(mask.sum())})", log=True)
        aucs = ", ".join(f"{name} {100 * float(row[key]):.1f}%" for name, key in auc_keys
                         if key in row and pd.notna(row[key]))
        ax.set_title(f"{case_title(row)}\nROC AUC: {aucs or 'n/a'}", fontsize=8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("examples (log scale)")
        ax.legend(fontsize=7)
    fig.suptitle(f"{headline}; best LIMIT instance per case, split {int(final['seed'].min())}, training "
                 f"examples{scale_note(scale)}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


@RENDERERS.register("limit_figA1")
def render_limit_fig_a1(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. A1: per case, log-scale histograms of ‖μ‖₂ for correct and incorrect labels."""
    _histograms(curves, final, out, scale, "pred_norm", r"$\|\mu\|_2$ (norm of the predicted gradient)",
                (("‖μ‖", "auc_norm"),), "Norm of predicted gradients")


@RENDERERS.register("limit_figA2")
def render_limit_fig_a2(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. A2: per case, log-scale histograms of ‖μ − g‖₂ for correct and incorrect labels; the panel
    title gives the ROC AUC of the distance and of cleanlab's score on the same examples."""
    _histograms(curves, final, out, scale, "distance", r"$\|\mu - g_{\mathrm{CE}}\|_2$",
                (("LIMIT", "auc_distance"), ("cleanlab", "auc_cleanlab")),
                "Distance between predicted and cross-entropy gradient")


def class_name(dataset: str, label: int) -> str:
    return CIFAR10_CLASSES[label] if dataset == "cifar10" else str(label)


def top_confusing(case: pd.DataFrame, k: int = TOP_PER_CLASS) -> dict[int, pd.DataFrame]:
    """Per given label (ascending), its k examples of largest distance, largest first."""
    chosen = case[case["confusing_rank"] < k].sort_values(["label", "confusing_rank"])
    return {int(label): group for label, group in chosen.groupby("label", sort=True)}


def decode_image(row: pd.Series) -> np.ndarray:
    """The (H, W) or (H, W, 3) uint8 image stored in a row (`image_shape` C x H x W, `image_hex`)."""
    c, h, w = (int(v) for v in str(row["image_shape"]).split("x"))
    pixels = np.frombuffer(bytes.fromhex(str(row["image_hex"])), dtype=np.uint8).reshape(c, h, w)
    return pixels[0] if c == 1 else pixels.transpose(1, 2, 0)


@RENDERERS.register("limit_figA3")
def render_limit_fig_a3(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> None:
    """Fig. A3: per dataset a grid, one row per class, its 8 most confusing training examples by
    ‖μ − g‖, each captioned with the given label and the classifier's predicted class."""
    plt, _ = setup()
    cases = [final[final["cell"] == cell].iloc[0] for cell in final["cell"]]
    num_classes = [int(curves.loc[curves["cell"] == row["cell"], "label"].max()) + 1 for row in cases]
    rows = max(num_classes)
    fig = plt.figure(figsize=(7.2 * len(cases), 0.95 * rows + 1.0))
    grids = fig.add_gridspec(1, len(cases), wspace=0.08)
    for i, row in enumerate(cases):
        case = curves[curves["cell"] == row["cell"]]
        chosen = top_confusing(case)
        sub = grids[0, i].subgridspec(rows, TOP_PER_CLASS, hspace=0.55, wspace=0.05)
        for r in range(num_classes[i]):
            group = chosen.get(r, case.iloc[0:0])
            for j in range(TOP_PER_CLASS):
                ax = fig.add_subplot(sub[r, j])
                ax.set_xticks([])
                ax.set_yticks([])
                if j < len(group):
                    example = group.iloc[j]
                    image = decode_image(example)
                    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
                    ax.set_title(f"{class_name(row['dataset'], int(example['label']))} → "
                                 f"{class_name(row['dataset'], int(example['predicted']))}", fontsize=5.5,
                                 pad=1.5)
                else:
                    ax.axis("off")
                if j == 0:
                    ax.set_ylabel(class_name(row["dataset"], r), fontsize=6)
        fig.text((i + 0.5) / len(cases), 0.995, case_title(row).replace("\n", " "), ha="center", va="top",
                 fontsize=8)
    fig.suptitle(f"Most confusing {TOP_PER_CLASS} labels per class by ‖μ − g‖ (given → predicted)"
                 f"{scale_note(scale)}", fontsize=9, y=1.02)
    save_figure(fig, out)

