"""End-to-end: seed-001 Table 4 through real Snakemake at smoke scale, as a user types it.

Builds paper/tables/limit_table4.tex in a temporary working copy (smoke-scale jobs read the workflow's
stand-in MNIST: 1000 train / 500 test images in torchvision's format, made offline), then checks
the table, the validation-based selection in aggregate.csv, the FW/DMI initialisation edge, and that the
paper-scale dry run lists the whole grid.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from labelrepro.papers.limit.methods import METHODS
from tests.e2e_helpers import build, run_dir, snakemake

pytestmark = pytest.mark.e2e

# 2 noise rates x 3 sizes x (CE, MAE, FW 1 + GN, LN 4 + DMI 4 + soft reg. 20 + LIMIT_G/L 8 + LIMIT_G/L+S 32)
PAPER_JOBS_PER_TABLE = 6 * (3 + 2 * 4 + 4 + 20 + 2 * 8 + 2 * 32)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory, "e2e-limit", "paper/tables/limit_table4.tex")


def test_table4_smoke(built):
    tex = (built / "paper/tables/limit_table4.tex").read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex and "smoke scale" in tex
    assert "$p = 0$" in tex and "$p = 0.5$" in tex and "All" in tex
    assert "Selected hyperparameters" in tex and "\\textbf{" in tex
    aggregate = pd.read_csv(built / "results/limit_table4/smoke/aggregate.csv")
    assert set(aggregate["method"]) == set(METHODS) - {"limit_g_init", "limit_l_init"}  # CIFAR-only rows
    assert len(aggregate) == 66 and aggregate["selected"].all()  # 11 methods x 2 p x 3 n, one point each
    assert aggregate["n_splits"].eq(2).all()
    assert aggregate[["val_acc_mean", "test_acc_mean"]].stack().between(0, 1).all()
    assert tex.count("\\\\") >= 2 * 11  # a row per method in both the result and hyperparameter tables
    cells = pd.read_csv(built / "paper/tables/limit_table4.csv")  # the table's numbers
    assert len(cells) == 66 and cells["selected"].all()


def test_ce_saves_models_and_fw_runs_after_it(built):
    ce = run_dir(built, "limit_table4", "noise_rate-0.5_train_size-100_method-ce")
    assert (ce / "seed-42/best_model.pt").exists()
    fw = run_dir(built, "limit_table4", "noise_rate-0.5_train_size-100_method-fw")
    meta = (fw / "seed-42/meta.json").read_text()
    assert str(ce.relative_to(built)) in meta  # FW's recorded input is this CE run
    curves = pd.read_csv(built / "results/limit_table4/smoke/curves.csv")
    assert curves["epoch"].max() <= 2 and set(curves["seed"]) == {42, 43}
    fw = curves[curves["method"] == "fw"]
    assert len(fw) and fw["n_train"].isin([100, 300, 800]).all()


def test_smoke_packs_runs_into_few_jobs(built):
    """At smoke scale the 66 tiny runs of a table train in two processes (`runs_per_job: 34`); at paper
    scale every run is a job of its own (next test)."""
    logs = sorted((built / "logs/packs/smoke").glob("limit_table4_*.log"))
    assert len(logs) == 2
    assert "(34/34)" in logs[0].read_text() and "(32/32)" in logs[1].read_text()


def test_paper_scale_dry_run_lists_the_full_grid(built):
    result = snakemake(built, "-n", "paper/tables/limit_table4.tex", "paper/tables/limit_table5.tex",
                       "--config", "scale=paper")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert re.search(rf"limit_train\s+{2 * PAPER_JOBS_PER_TABLE}\n", out)  # one job per run at paper scale
    assert "gpu=1" in out
