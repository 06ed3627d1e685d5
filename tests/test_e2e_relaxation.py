"""End-to-end: seed 004 (label relaxation) through real Snakemake at smoke scale, as a user types it.

One Snakemake call builds relax_fig1 (the simplex, no training), relax_table and relax_reliability
(the MLP rows on the workflow's stand-in MNIST / Fashion-MNIST; both targets read the same runs, two
jobs: one per dataset with its select and final runs). Then checks the figure data against the
definitions, the validation-based choice, the table and the paper-scale dry run.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.e2e_helpers import build, snakemake

pytestmark = pytest.mark.e2e

TARGETS = ("figures/relax_fig1.pdf", "paper/tables/relax_table.tex", "figures/relax_reliability.pdf")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory, "e2e-relax", *TARGETS)


def test_outputs_exist_and_say_smoke(built):
    for target in TARGETS:
        assert (built / target).stat().st_size > 1000, target
    tex = (built / "paper/tables/relax_table.tex").read_text()
    assert "smoke scale" in tex and "\\textbf{" in tex and "MNIST" in tex and "Fashion-MNIST" in tex
    assert all(label in tex for label in ("CE", "LS", "CP", "FL", "LR"))


def test_simplex_points(built):
    points = pd.read_csv(built / "results/relax_fig1/smoke/aggregate.csv")
    grid = points[points["kind"] == "grid"]
    inside, border = grid["p_true"] > 0.75 + 1e-9, (grid["p_true"] - 0.75).abs() < 1e-9
    assert inside.any() and (grid.loc[inside, "lr_loss"] == 0).all()
    assert (grid.loc[border, "lr_loss"].abs() < 1e-12).all()
    assert (grid.loc[~inside & ~border, "lr_loss"] > 0).all()
    target = points[points["kind"] == "ls_target"].iloc[0]
    assert target["p_true"] == pytest.approx(0.75 + 0.25 / 3)  # uniform convention
    projection = points[points["kind"] == "projection"].iloc[0]
    assert projection["p_true"] == pytest.approx(0.75)
    assert projection["p_a"] / projection["p_b"] == pytest.approx(0.45 / 0.2)  # p^r keeps the others' ratio


def test_selection_and_table(built):
    chosen = pd.read_csv(built / "results/relax_table/smoke/aggregate.csv")
    # 2 datasets x 5 losses x 2 seeds, each a final run at the strength its seed's validation chose
    assert len(chosen) == 20 and set(chosen["method"]) == {"ce", "ls", "cp", "fl", "lr"}
    assert set(chosen.loc[chosen["method"] != "ce", "strength"]) <= {0.1, 0.3}
    assert (chosen.loc[chosen["method"] == "ce", "strength"] == 0).all()
    curves = pd.read_csv(built / "results/relax_table/smoke/curves.csv")
    assert set(curves["eval_split"]) == {"val", "test"}
    last = curves[(curves["phase"] == "select") & (curves["epoch"] == 2)]
    for row in chosen.itertuples():
        candidates = last[(last["dataset"] == row.dataset) & (last["method"] == row.method)
                          & (last["seed"] == row.seed)]
        assert row.val_acc == pytest.approx(candidates["acc"].max())
    assert chosen[["test_acc", "test_ece"]].stack().between(0, 1).all()
    cells = pd.read_csv(built / "paper/tables/relax_table.csv")
    assert len(cells) == 10 and cells["n_seeds"].eq(2).all()
    bins = pd.read_csv(built / "results/relax_reliability/smoke/aggregate.csv")
    assert len(bins) == 10 * 15
    per_panel = bins.groupby(["dataset", "method"])["count"].sum()
    assert per_panel.nunique() == 1  # every panel pools the same test samples (2 seeds x test part)


def test_one_process_per_dataset(built):
    logs = sorted((built / "logs/packs/smoke").glob("relax_*.log"))
    assert len(logs) == 2
    assert all("(2/2)" in log.read_text() for log in logs)


def test_paper_scale_dry_run(built):
    result = snakemake(built, "-n", *TARGETS, "--config", "scale=paper")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    # shared by both targets: MLP 2 datasets x (select, final); CIFAR 2 datasets x 3 models x 2 phases x
    # (CE + 4 losses x 7 strengths)
    assert re.search(rf"relax_train\s+{4 + 6 * 2 * 29}\n", out)
    assert "gpu=1" in out
