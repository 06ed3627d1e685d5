"""End-to-end: the seed-002 targets (alasca_table4, alasca_table3) through real Snakemake, as a user types
them. At smoke scale the workflow writes its own stand-in CIFAR-10, so the build runs offline."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from tests.e2e_helpers import build, snakemake

pytestmark = pytest.mark.e2e

TARGETS = ("paper/tables/alasca_table4.tex", "paper/tables/alasca_table3.tex")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory, "e2e-alasca", *TARGETS)


def test_table4_smoke(built):
    tex = (built / "paper/tables/alasca_table4.tex").read_text()
    assert r"\toprule" in tex and "SMOKE SCALE" in tex
    for row in ("ULS", "ALS", "+ EMA", "ALASCA ", "ALASCA*"):
        assert row in tex
    final = pd.read_csv(built / "results/alasca_table4/smoke/aggregate.csv")
    assert len(final) == 18 and set(final["noise"]) == {"symm50", "asym40", "inst40"}
    assert final["test_acc_avg"].between(0, 1).all()
    alasca = final[final["method"] == "alasca"]
    assert alasca["test_acc_ens_avg"].between(0, 1).all()  # ALASCA* comes from the same runs
    assert final[final["method"] == "uls"]["test_acc_ens_avg"].isna().all()  # no ACs, no ensemble
    cells = pd.read_csv(built / "paper/tables/alasca_table4.csv")
    star = cells[cells["row"] == "ALASCA*"].set_index("noise")["mean"]
    expected = alasca.set_index("noise")["test_acc_ens_avg"] * 100
    assert all(math.isclose(star[n], expected[n]) for n in expected.index)


def test_table3_smoke(built):
    tex = (built / "paper/tables/alasca_table3.tex").read_text()
    for row in ("Standard", "HAR", "CDR", "MLP*", "Bottleneck ", "Residual*"):
        assert row in tex
    final = pd.read_csv(built / "results/alasca_table3/smoke/aggregate.csv")
    assert len(final) == 18
    assert (final["peak_mem_mb"] >= 0).all() and (final["train_time_s"] > 0).all()
    har = final[final["method"] == "har"]
    assert har["stage"].eq(2).all() and har["epoch"].eq(3).all()  # 1 stage-1 epoch + 2 epochs
    cells = pd.read_csv(built / "paper/tables/alasca_table3.csv").set_index("row")
    assert cells.at["Standard", "time_ratio"] == pytest.approx(1.0)
    assert cells.at["Standard", "memory_ratio"] == pytest.approx(1.0)
    assert (cells["time_ratio"] > 0).all()


def test_shared_runs_are_trained_once(built):
    """Table 3's ALASCA* (bottleneck ACs after all blocks) and Table 4's ALASCA are the same runs: both
    tables read the same run folders, and the smoke build trained each of them once."""
    t3 = pd.read_csv(built / "results/alasca_table3/smoke/curves.csv")
    t4 = pd.read_csv(built / "results/alasca_table4/smoke/curves.csv")
    star = t3[(t3["method"] == "alasca") & (t3["ac_type"] == "bottleneck") & (t3["ac_positions"] == "all")]
    shared = set(star["run"]) & set(t4[t4["method"] == "alasca"]["run"])
    assert len(shared) == 2  # symm50 and inst40, one seed at smoke scale
    assert set(t3["run"]) & set(t4["run"]) == shared
    runs = list((built / "results/runs/smoke/alasca").iterdir())
    assert len(runs) == 18 + 18 - 2


def test_paper_scale_dry_run_requests_gpus(built):
    result = snakemake(built, "-n", *TARGETS, "--config", "scale=paper")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    # (18 + 18 cells) x 3 seeds, less the 2 x 3 ALASCA runs (bottleneck ACs after all blocks) that both
    # tables list: trained once
    assert re.search(r"alasca_train\s+102\n", out)
    assert "gpu=1" in out
