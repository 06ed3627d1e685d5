"""End-to-end: `alasca_fig4` (Co-teaching's selection F1 ± ALASCA; accuracy against four methods'
hyperparameters ± ALASCA) through real Snakemake at smoke scale, on the workflow's stand-in CIFAR-10/100,
offline: 18 two-epoch runs in 3 packed jobs, the aggregation, the figure and the target's scorecard."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.e2e_helpers import build_at, run_dir

pytestmark = pytest.mark.e2e

TARGET = "figures/alasca_fig4.pdf"
SCORECARD = "results/alasca_fig4/smoke/scorecard.csv"


def test_fig4_smoke(tmp_path):
    workdir = build_at(tmp_path, TARGET, SCORECARD)
    assert (workdir / TARGET).stat().st_size > 1000
    out = pd.read_csv(workdir / "results/alasca_fig4/smoke/aggregate.csv")
    a = out[out["panel"] == "a"]
    assert set(a["noise"]) == {"symm80", "c100_symm80"} and set(a["variant"]) == {"base", "alasca"}
    assert len(a) == 2 * 2 * 2 and a["select_f1"].between(0, 1).all()  # datasets x variants x epochs
    b = out[out["panel"] == "b"]
    assert len(b) == 4 * 2 * 2 and b["test_acc_avg_mean"].between(0, 1).all()  # methods x values x variants
    assert set(b["hyperparameter"]) == {"weight_decay", "elr_lam", "coteach_num_gradual", "crust_fraction"}
    summary = out[out["panel"] == "b_summary"]
    assert len(summary) == 8 and (summary["test_acc_range"] >= 0).all()
    # the Co-teaching sweep's smoke-default point is panel (a)'s CIFAR-10 run: one run folder
    cells = {
        "a": "noise-symm80_method-coteaching_variant-alasca_seed-0",
        "b": "noise-symm80_method-coteaching_variant-alasca_coteach_num_gradual-2_seed-0",
    }
    assert run_dir(workdir, "alasca_fig4", cells["a"]) == run_dir(workdir, "alasca_fig4", cells["b"])
    assert len(list((workdir / "results/runs/smoke/alasca").iterdir())) == 18
    # every claim of paper/reported/alasca_fig4.yaml finds its aggregate row (smoke: not comparable)
    card = pd.read_csv(workdir / SCORECARD, keep_default_na=False)
    assert len(card) == 11 and (card["n_rows"].astype(int) == 1).all()
    assert set(card["verdict"]) == {"not comparable"}
    assert set(card["at_face_value"]) <= {"reproduced", "not reproduced"}
