"""Shared figure style and atomic figure saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import seaborn as sns

from labelrepro.core import atomic


def setup() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)


def save_figure(fig: plt.Figure, path: str | Path) -> None:
    """Save as PDF atomically (a killed render never leaves a truncated PDF behind)."""
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="pdf", bbox_inches="tight")
    plt.close(fig)


def scale_note(scale: str) -> str:
    """Figures built at smoke scale say so, so they are never mistaken for the paper-scale result."""
    return "" if scale == "paper" else f"  [{scale} scale: not the paper's settings or data]"
