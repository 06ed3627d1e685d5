"""End-to-end: `alasca_table1` (seven LNL methods ± ALASCA) through real Snakemake at smoke scale, on the
workflow's stand-in CIFAR-10/100, offline: two columns, 28 runs in two packed jobs."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.e2e_helpers import build_at

pytestmark = pytest.mark.e2e

TARGET = "paper/tables/alasca_table1.tex"


def test_table1_smoke(tmp_path):
    workdir = build_at(tmp_path, TARGET)
    tex = (workdir / TARGET).read_text()
    assert "SMOKE SCALE" in tex and r"\textbf{" in tex
    for row in ("Standard", "GCE + ALASCA", "ELR", "Co-teaching + ALASCA", "CRUST", "FINE + ALASCA"):
        assert f"\n{row} & " in tex
    final = pd.read_csv(workdir / "results/alasca_table1/smoke/aggregate.csv")
    assert len(final) == 28 and set(final["noise"]) == {"symm50", "c100_symm50"}
    assert set(final["variant"]) == {"base", "alasca"}
    assert final["test_acc_avg"].between(0, 1).all()
    selecting = final[final["method"].isin(["coteaching", "crust", "fine"])]
    assert selecting["select_f1"].between(0, 1).all()  # Fig. 4a's quantity, logged every epoch
    cells = pd.read_csv(workdir / "paper/tables/alasca_table1.csv")
    assert len(cells) == 7 * 2 * 8 and cells.groupby(["method", "noise"])["best"].any().loc[
        :, ["symm50", "c100_symm50"]].all()
