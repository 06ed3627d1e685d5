"""End-to-end: seed 003's CIFAR-10 table (sparsity_table_cifar, ResNet-20 with and without label smoothing)
through real Snakemake at smoke scale, on the workflow's CIFAR-10 stand-in."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.e2e_helpers import build

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory, "e2e-sparsity-cifar", "paper/tables/sparsity_table_cifar.tex")


def test_table_and_layers(built):
    tex = (built / "paper/tables/sparsity_table_cifar.tex").read_text()
    assert r"\toprule" in tex and "SMOKE SCALE" in tex and "penultimate" in tex
    final = pd.read_csv(built / "results/sparsity_table_cifar/smoke/aggregate.csv")
    assert sorted(final["label_smoothing"].unique()) == [0.0, 0.1]
    assert final.groupby("label_smoothing").size().eq(19).all()  # stem + 2 ReLUs x 9 blocks
    penultimate = final[final["penultimate"].astype(str).str.lower() == "true"]
    assert len(penultimate) == 2 and penultimate["units"].eq(4096).all()
    assert final["active_frac"].between(0, 1).all() and final["test_acc"].between(0, 1).all()
    cells = pd.read_csv(built / "paper/tables/sparsity_table_cifar.csv")
    assert len(cells) == 19
