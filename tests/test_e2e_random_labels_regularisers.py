"""End-to-end: seed 000's fig2, fig3bc, figA1, figA2 and figA3 through one real Snakemake run (smoke
scale, WRN-16-1 on the workflow's stand-in CIFAR-100), plus the paper-scale dry run that shows every
distinct configuration is trained once however many figures list it."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.e2e_helpers import make_working_copy, snakemake

pytestmark = pytest.mark.e2e

TARGETS = ("fig2", "fig3bc", "figA1", "figA2", "figA3")
#: Distinct paper-scale runs of each target alone, and of all five with fig1b (shared runs counted once).
PAPER_RUNS = {"fig2": 21, "fig3bc": 12, "figA1": 50, "figA2": 30, "figA3": 4}
PAPER_RUNS_ALL = 110


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    workdir = make_working_copy(tmp_path_factory.mktemp("e2e-rl-reg") / "artifact")
    result = snakemake(workdir, "--cores", "2", *(f"figures/{t}.pdf" for t in TARGETS))
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return workdir


def _final(built, target: str) -> pd.DataFrame:
    return pd.read_csv(built / f"results/{target}/smoke/aggregate.csv")


def test_every_figure_is_built_with_accuracies_in_range(built):
    for target in TARGETS:
        assert (built / f"figures/{target}.pdf").read_bytes().startswith(b"%PDF"), target
        final = _final(built, target)
        assert final[["train_acc", "test_acc", "rnd_acc"]].stack().between(0, 1).all(), target
        assert final["epoch"].eq(2).all(), target


def test_smoke_cells(built):
    fig2 = _final(built, "fig2")
    assert sorted(fig2["cell"]) == sorted(
        ["dropout-0_seed-0", "dropout-0.3_seed-0", "weight_decay-0_head_weight_decay-true_seed-0",
         "weight_decay-0.0005_head_weight_decay-true_seed-0",
         "label_smoothing-0_seed-0", "label_smoothing-0.3_seed-0",
         "weight_decay-0.0005_head_weight_decay-false_seed-0"])
    # The three zeros of fig2 are one run (the default recipe), and fig3bc reads it too.
    zeros = fig2[fig2["cell"].str.contains(r"-0_(?:seed|head)")]
    assert len(zeros) == 3
    assert zeros["run"].nunique() == 1
    fig3bc = _final(built, "fig3bc")
    assert len(fig3bc) == 4 and set(zeros["run"]) < set(fig3bc["run"])
    decayed = fig2["cell"] == "weight_decay-0.0005_head_weight_decay-true_seed-0"
    assert set(fig2.loc[decayed, "run"]) < set(fig3bc["run"])
    assert len(_final(built, "figA1")) == 8 and set(_final(built, "figA1")["augmentation"]) == {
        "none", "flip_crop_cutout"}
    figa2 = _final(built, "figA2")
    assert len(figa2) == 4 and (figa2["num_random_labels"] == 100).all()
    figa3 = _final(built, "figA3")
    assert sorted(zip(figa3["variant"], figa3["weight_decay"], strict=True)) == [
        ("single_output", 0.0), ("single_output", 0.0005), ("standard", 0.0), ("standard", 0.0005)]
    assert figa3["loss_reg"].gt(0).all()


def test_paper_scale_dry_run_lists_each_distinct_run_once(built):
    for target, runs in PAPER_RUNS.items():
        result = snakemake(built, "-n", f"figures/{target}.pdf", "--config", "scale=paper")
        out = result.stdout + result.stderr
        assert result.returncode == 0, out[-3000:]
        assert re.search(rf"random_labels_train\s+{runs}\n", out), (target, out[-2000:])
        assert "gpu=1" in out
    result = snakemake(built, "-n", "figures/fig1b.pdf", *(f"figures/{t}.pdf" for t in TARGETS),
                       "--config", "scale=paper")
    out = result.stdout + result.stderr
    assert re.search(rf"random_labels_train\s+{PAPER_RUNS_ALL}\n", out), out[-2000:]
