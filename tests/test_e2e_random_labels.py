"""End-to-end: the seed-000 targets (fig3a, fig1b) through real Snakemake on fake CIFAR-100 files.

The experiment files still live in workflow/experiments/pending/ (not part of `snakemake all` yet);
this test copies them into a temporary working copy, writes tiny CIFAR-100 files in torchvision's
format into its data_dir and builds both figures at smoke scale.
"""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

from labelrepro.data.fake import write_fake_cifar
from tests.e2e_helpers import make_working_copy, snakemake

pytestmark = pytest.mark.e2e

OFFLINE = ["--config", "download=False", "verify_data=False"]  # Snakemake parses True/False only


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    workdir = make_working_copy(tmp_path_factory.mktemp("e2e-rl") / "artifact")
    for name in ("fig3a", "fig1b"):
        shutil.copy(workdir / f"workflow/experiments/pending/{name}.yaml", workdir / "workflow/experiments")
    write_fake_cifar(workdir / "data", "cifar100", 400, 200, seed=0)
    result = snakemake(workdir, "--cores", "2", "figures/fig3a.pdf", "figures/fig1b.pdf", *OFFLINE)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return workdir


def test_fig3a_smoke(built):
    assert (built / "figures/fig3a.pdf").read_bytes().startswith(b"%PDF")
    final = pd.read_csv(built / "results/fig3a/smoke/aggregate.csv")
    points = sorted(zip(final["copy_depth"], final["width_multiplier"], strict=True))
    assert points == [(1, 1.0), (3, 4.0), (8, 1.0), (16, 1.0)]
    assert final["rnd_acc"].between(0, 1).all() and final["epoch"].eq(2).all()
    run = built / "results/fig3a/smoke/runs/copy_depth-8_width_multiplier-1_seed-0/seed-0"
    assert (run / "random_labels.csv").exists()


def test_fig1b_smoke(built):
    assert (built / "figures/fig1b.pdf").read_bytes().startswith(b"%PDF")
    curves = pd.read_csv(built / "results/fig1b/smoke/curves.csv")
    assert curves["epoch"].tolist() == [1, 2, 3]
    assert curves[["train_acc", "test_acc", "rnd_acc"]].stack().between(0, 1).all()


def test_paper_scale_dry_run_requests_gpus(built):
    result = snakemake(built, "-n", "figures/fig3a.pdf", "--config", "scale=paper")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert re.search(r"random_labels_train\s+17\n", out)  # 16 depths + the width test
    assert "gpu=1" in out
