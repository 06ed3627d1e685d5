"""Shared figure style and atomic figure saving.

matplotlib and seaborn are imported by `setup()`, not at module level: renderer modules register
themselves when the Snakefile is parsed, and parsing must not pay for matplotlib.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labelrepro.core import atomic


def setup() -> tuple[Any, Any]:
    """Select the non-interactive backend, apply the house style; returns (pyplot, seaborn)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)
    return plt, sns


def save_figure(fig: Any, path: str | Path) -> None:
    """Save as PDF atomically (a killed render never leaves a truncated PDF behind)."""
    import matplotlib.pyplot as plt

    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="pdf", bbox_inches="tight")
    plt.close(fig)


def scale_note(scale: str) -> str:
    """Figures built at smoke scale say so, so they are never mistaken for the paper-scale result."""
    return "" if scale == "paper" else f"  [{scale} scale: not the paper's settings or data]"
