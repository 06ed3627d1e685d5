"""End-to-end: the seed-000 targets (fig3a, fig1b) through real Snakemake, as a user types them.

At smoke scale the workflow writes its own stand-in CIFAR-100 (synthetic images in torchvision's format,
rule `standin_dataset`), so the build runs offline with the default configuration.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from tests.e2e_helpers import build, run_dir, snakemake

pytestmark = pytest.mark.e2e

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory, "e2e-rl", "figures/fig3a.pdf", "figures/fig1b.pdf")


def test_smoke_reads_the_standin(built):
    standin = built / "data/standin/cifar100"
    assert (standin / "cifar-100-python/train").exists()
    assert "STAND-IN" in (standin / "STANDIN_README.txt").read_text()
    meta = json.loads((run_dir(built, "fig1b", "seed-0") / "seed-0/meta.json").read_text())
    assert meta["data_dir"] == "data/standin/cifar100"
    assert not (built / "data/cifar-100-python").exists()  # nothing was downloaded


def test_fig3a_smoke(built):
    assert (built / "figures/fig3a.pdf").read_bytes().startswith(b"%PDF")
    final = pd.read_csv(built / "results/fig3a/smoke/aggregate.csv")
    points = sorted(zip(final["copy_depth"], final["width_multiplier"], strict=True))
    assert points == [(1, 1.0), (3, 4.0), (4, 1.0)]
    assert final["rnd_acc"].between(0, 1).all() and final["epoch"].eq(2).all()
    run = run_dir(built, "fig3a", "copy_depth-4_width_multiplier-1_seed-0") / "seed-0"
    assert (run / "random_labels.csv").exists()


def test_fig1b_smoke(built):
    assert (built / "figures/fig1b.pdf").read_bytes().startswith(b"%PDF")
    curves = pd.read_csv(built / "results/fig1b/smoke/curves.csv")
    assert curves["epoch"].tolist() == [1, 2]
    assert curves[["train_acc", "test_acc", "rnd_acc"]].stack().between(0, 1).all()


def test_paper_scale_dry_run_requests_gpus(built):
    result = snakemake(built, "-n", "figures/fig3a.pdf", "--config", "scale=paper")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert re.search(r"random_labels_train\s+17\n", out)  # 16 depths + the width test
    assert "gpu=1" in out
