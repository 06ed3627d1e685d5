"""Validation-based hyperparameter selection and the LaTeX table of seed 001."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from labelrepro.papers.limit.render import latex_tables, render_limit_table, size_label
from labelrepro.papers.limit.selection import limit_selection


def _runs(cell: str, method: str, p: float, n: int, vals: list[float], tests: list[float], **hp: float):
    rows = []
    for seed, (v, t) in enumerate(zip(vals, tests, strict=True), start=42):
        for epoch in (1, 2):  # the last row carries the result; the first must be ignored
            rows.append({"cell": cell, "method": method, "noise_rate": p, "train_size": n, **hp,
                         "seed": seed, "epoch": epoch, "best_val_acc": v if epoch == 2 else 0.0,
                         "test_acc": t if epoch == 2 else 0.0, "best_epoch": 1})
    return rows


def _curves() -> pd.DataFrame:
    rows = (
        _runs("ce", "ce", 0.5, 1000, [0.8, 0.9], [0.70, 0.80])
        # beta 0.0: higher TEST accuracy but lower validation accuracy -> must not be selected
        + _runs("lg0", "limit_g", 0.5, 1000, [0.80, 0.80], [0.99, 0.99], beta=0.0)
        + _runs("lg1", "limit_g", 0.5, 1000, [0.90, 0.86], [0.85, 0.87], beta=1.0)
        # a tie in mean validation accuracy with lg1 (0.88), later in the grid -> not selected
        + _runs("lg3", "limit_g", 0.5, 1000, [0.88, 0.88], [0.50, 0.50], beta=3.0)
        + _runs("ce0", "ce", 0.0, 0, [0.95, 0.97], [0.96, 0.98])
    )
    return pd.DataFrame(rows)


def test_selection_uses_mean_validation_accuracy_not_test() -> None:
    table = limit_selection(_curves())
    chosen = table[table["selected"]].set_index("cell")
    assert sorted(chosen.index) == ["ce", "ce0", "lg1"]
    lg1 = chosen.loc["lg1"]
    assert lg1["val_acc_mean"] == pytest.approx(0.88)
    assert lg1["test_acc_mean"] == pytest.approx(0.86)
    assert lg1["test_acc_std"] == pytest.approx(math.sqrt(2) * 0.01)  # sample std (ddof = 1) of 0.85, 0.87
    assert lg1["n_splits"] == 2 and lg1["seeds"] == "42 43" and lg1["beta"] == 1.0
    assert len(table) == 5 and table["selected"].sum() == 3


def test_selection_needs_the_grid_columns() -> None:
    with pytest.raises(ValueError, match="noise_rate"):
        limit_selection(_curves().drop(columns="noise_rate"))


def test_size_labels() -> None:
    assert size_label(1000) == "$n = 10^{3}$" and size_label(0) == "All" and size_label(300) == "$n = 300$"


def test_table_bolds_the_best_per_column_and_lists_selected_hyperparameters(tmp_path: Path) -> None:
    aggregate = limit_selection(_curves())
    tex = latex_tables(aggregate, "paper", "caption")
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    rows = [line for line in tex.splitlines() if " & " in line]
    # columns: (p=0, 10^3), (p=0, All), (p=0.5, 10^3), (p=0.5, All); CE is alone at p = 0 / All (bold),
    # LIMIT_G (86.0) beats CE (75.0) at p = 0.5 / 10^3
    assert "CE & -- & \\textbf{97.0 $\\pm$ 1.4} & 75.0 $\\pm$ 7.1 & -- \\\\" in rows
    assert "\\textbf{86.0 $\\pm$ 1.4}" in tex and "\\textbf{75.0" not in tex
    limit_g = "$\\mathrm{LIMIT}_{\\mathcal{G}} - \\mathrm{S}$"
    assert f"{limit_g} & -- & -- & $\\beta=1$ & -- \\\\" in rows  # the selected-hyperparameter table
    out = tmp_path / "t.tex"
    render_limit_table(pd.DataFrame(), aggregate, out, "smoke")
    assert "smoke scale" in out.read_text()
