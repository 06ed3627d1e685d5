"""End-to-end: the seed-001 Figs. A1-A3 (limit_figA1, limit_figA2, limit_figA3) and their scorecards in one
Snakemake call at smoke scale, on the workflow's stand-in MNIST / CIFAR-10 / CIFAR-100 (offline):
LIMIT runs saving their best nets, the gradient-statistics step (best instance per case, cleanlab
baseline) and the renderers."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.e2e_helpers import make_working_copy, snakemake

pytestmark = pytest.mark.e2e

FIGURES = ("figures/limit_figA1.pdf", "figures/limit_figA2.pdf", "figures/limit_figA3.pdf")
CARDS = tuple(f"results/limit_figA{k}/smoke/scorecard.csv" for k in (1, 2, 3))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    workdir = make_working_copy(tmp_path_factory.mktemp("e2e-limit-figs") / "artifact")
    result = snakemake(workdir, "--cores", "2", *FIGURES, *CARDS)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return workdir


def test_figures_exist(built):
    for figure in FIGURES:
        assert (built / figure).stat().st_size > 1000


def test_stats_of_the_four_cases(built):
    final = pd.read_csv(built / "results/limit_figA2/smoke/aggregate.csv")
    assert list(final["dataset"]) == ["mnist", "cifar10", "cifar10", "cifar100"]
    assert list(final["noise_model"]) == ["uniform", "uniform", "pair", "uniform"]
    for column in ("auc_distance", "auc_norm", "auc_cleanlab"):
        assert final[column].between(0, 1).all(), column
    assert (final["n_noisy"] > 0).all()
    samples = pd.read_csv(built / "results/limit_figA2/smoke/curves.csv")
    assert (samples["distance"] >= 0).all() and (samples["distance"] <= 2 ** 0.5 + 1e-6).all()
    assert samples.groupby("cell", sort=False).size().tolist() == [300, 64, 64, 64]  # every training example
    nets = list((built / "results/runs/smoke/limit").glob("*/seed-42/best_nets.pt"))
    assert len(nets) >= 12  # every LIMIT run saves its best classifier and q


def test_fig_a3_on_original_labels(built):
    final = pd.read_csv(built / "results/limit_figA3/smoke/aggregate.csv")
    assert list(final["dataset"]) == ["mnist", "cifar10"] and (final["n_noisy"] == 0).all()
    samples = pd.read_csv(built / "results/limit_figA3/smoke/curves.csv", keep_default_na=False)
    shown = samples[samples["confusing_rank"].astype(int) < 8]
    assert (shown["image_hex"].str.len() > 0).all()
    assert shown.groupby("cell").size().max() <= 8 * 10


def test_scorecards(built):
    for card in CARDS:
        frame = pd.read_csv(built / card)
        assert len(frame) and (frame["verdict"] == "not comparable").all()  # smoke scale
