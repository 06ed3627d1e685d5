"""End-to-end: the seed-002 figures (alasca_fig1, alasca_fig2b, alasca_fig3) in one Snakemake call at smoke
scale, on the workflow's own stand-in CIFAR-10 (offline): training with `save_model`/`log_confidence`, the
saved-model analysis step and the renderers."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.e2e_helpers import build

pytestmark = pytest.mark.e2e

TARGETS = ("figures/alasca_fig1.pdf", "figures/alasca_fig2b.pdf", "figures/alasca_fig3.pdf")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory, "e2e-alasca-figs", *TARGETS)


def test_figures_exist(built):
    for target in TARGETS:
        assert (built / target).stat().st_size > 1000


def test_fig1_and_fig2b_analyse_saved_models(built):
    samples = pd.read_csv(built / "results/alasca_fig1/smoke/curves.csv")
    assert sorted(samples["uls_alpha"].unique()) == [0.0, 0.9]
    assert (samples["jacobian_norm"] > 0).all() and (samples["feature_norm"] > 0).all()
    assert len(samples) == 2 * 64  # analysis_samples per run
    final = pd.read_csv(built / "results/alasca_fig2b/smoke/aggregate.csv")
    assert set(final["method"]) == {"uls", "als"}
    assert (final["n_noisy"] > 0).all() and final["jacobian_noisy_over_clean"].notna().all()
    models = list((built / "results/runs/smoke/alasca").glob("*/seed-0/model.pt"))
    assert len(models) == 4


def test_fig3_logs_both_confidences(built):
    curves = pd.read_csv(built / "results/alasca_fig3/smoke/curves.csv")
    for column in ("conf_inst_clean_mean", "conf_ema_noisy_std", "conf_ema_noisy_change"):
        assert column in curves
    assert curves["conf_inst_noisy_mean"].between(0, 1).all()
    final = pd.read_csv(built / "results/alasca_fig3/smoke/aggregate.csv")
    assert {"gap_inst", "gap_ema", "change_inst_noisy", "change_ema_noisy"} <= set(final.columns)
