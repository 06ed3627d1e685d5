"""Renderer registry: experiment files name a renderer that turns aggregate CSVs into a figure/table.

A renderer gets (curves, aggregate, output path, scale). Table renderers return the table's cells as a
DataFrame (numbers, not LaTeX), which the table rule writes to `paper/tables/<target>.csv` for
comparisons with the paper; figure renderers return None.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from labelrepro.render.alasca_tables import render_alasca_table3, render_alasca_table4
from labelrepro.render.limit_tables import render_limit_table
from labelrepro.render.random_labels import render_fig1b, render_fig3a
from labelrepro.render.sparsity import render_sparsity_fig1

Renderer = Callable[[pd.DataFrame, pd.DataFrame, Path, str], pd.DataFrame | None]

RENDERERS: dict[str, Renderer] = {
    "sparsity_fig1": render_sparsity_fig1,
    "fig3a": render_fig3a,
    "fig1b": render_fig1b,
    "limit_table": render_limit_table,
    "alasca_table4": render_alasca_table4,
    "alasca_table3": render_alasca_table3,
}
