"""End-to-end: seed 000's fig2, fig3bc, figA1, figA2 and figA3 through one real Snakemake run (smoke
scale, WRN-10-1 on the workflow's stand-in CIFAR-100), plus the paper-scale dry run that shows every
distinct configuration is trained once however many figures list it."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.e2e_helpers import REPO, build, snakemake

pytestmark = pytest.mark.e2e

TARGETS = ("fig2", "fig3bc", "figA1", "figA2", "figA3")
#: Distinct paper-scale runs of each target alone, and of all five with fig1b (shared runs counted once).
PAPER_RUNS = {"fig2": 21, "fig3bc": 12, "figA1": 50, "figA2": 30, "figA3": 4}
PAPER_RUNS_ALL = 110


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory, "e2e-rl-reg", *(f"figures/{t}.pdf" for t in TARGETS))


def _final(built, target: str) -> pd.DataFrame:
    return pd.read_csv(built / f"results/{target}/smoke/aggregate.csv")


def test_every_figure_is_built_with_accuracies_in_range(built):
    for target in TARGETS:
        assert (built / f"figures/{target}.pdf").read_bytes().startswith(b"%PDF"), target
        final = _final(built, target)
        assert final[["train_acc", "test_acc", "rnd_acc"]].stack().between(0, 1).all(), target
        assert final["epoch"].eq(1).all(), target


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
    figa1 = _final(built, "figA1")
    assert len(figa1) == 6 and set(figa1["augmentation"]) == {"none", "flip_crop_cutout"}
    assert sorted(set(figa1["eta"])) == [0.05, 0.2]
    assert len(_final(built, "figA2")) == 4
    figa3 = _final(built, "figA3")
    # The augmented standard run without weight decay is figA1's (augmented, eta 0.05, lambda 0) run.
    shared = figa1.loc[(figa1["augmentation"] == "flip_crop_cutout") & (figa1["lam"] == 0), "run"]
    standard = (figa3["variant"] == "standard") & (figa3["weight_decay"] == 0)
    assert set(shared) == set(figa3.loc[standard, "run"])
    assert sorted(zip(figa3["variant"], figa3["weight_decay"], strict=True)) == [
        ("single_output", 0.0), ("single_output", 0.0005), ("standard", 0.0), ("standard", 0.0005)]
    assert figa3["loss_reg"].gt(0).all()


def test_paper_scale_settings():
    from labelrepro.experiment import load_experiments

    experiments = load_experiments(REPO / "workflow" / "experiments")
    for target, n in (("fig2", 10), ("fig3bc", 10), ("figA1", 10), ("figA2", 100), ("figA3", 100)):
        for cell in experiments[target].cells("paper").values():
            s = cell.settings
            recipe = (s["model"], s["epochs"], s["batch_size"], s["lr"] if target != "figA1" else 0.5)
            assert recipe == ("wrn16_4", 200, 256, 0.5) and not {"wrn_width", "wrn_depth"} & set(s), target
            assert s["num_random_labels"] == n, target
    cells = experiments["figA3"].cells("paper").values()
    assert all(c.settings["augment"] == {"crop_padding": 4, "hflip": True, "cutout": 16} for c in cells)


def test_paper_scale_dry_run_lists_each_distinct_run_once(built):
    from labelrepro.experiment import load_experiments

    experiments = load_experiments(REPO / "workflow" / "experiments")
    for target, runs in PAPER_RUNS.items():
        assert len({cell.run.id for cell in experiments[target].cells("paper").values()}) == runs, target
    # One dry run of all six seed-000 WRN figures: every shared configuration appears as one job.
    result = snakemake(built, "-n", "figures/fig1b.pdf", *(f"figures/{t}.pdf" for t in TARGETS),
                       "--config", "scale=paper")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert re.search(rf"random_labels_train\s+{PAPER_RUNS_ALL}\n", out), out[-2000:]
    assert "gpu=1" in out
