"""End-to-end: seed 003's pure-noise targets (sparsity_fig2, sparsity_fig3, sparsity_fig4, sparsity_thm4)
and the MNIST target (sparsity_fig5, on the workflow's MNIST stand-in) through one real Snakemake run at
smoke scale."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.e2e_helpers import build

pytestmark = pytest.mark.e2e

TARGETS = ("sparsity_fig2", "sparsity_fig3", "sparsity_fig4", "sparsity_thm4", "sparsity_fig5")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory, "e2e-sparsity-noise", *(f"figures/{t}.pdf" for t in TARGETS))


def aggregate(built, target: str) -> pd.DataFrame:
    return pd.read_csv(built / f"results/{target}/smoke/aggregate.csv")


@pytest.mark.parametrize("target", TARGETS)
def test_figures_exist(built, target):
    pdf = built / f"figures/{target}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000


def test_fig2_single_neuron_decays_to_its_plateau(built):
    final = aggregate(built, "sparsity_fig2")
    assert len(final) == 8 and set(final["loss"]) == {"hinge", "logistic"}  # 2 seeds x 2 rates x 2 losses
    fast = final[final["lr"] == 0.01]
    assert (fast["w_norm_tail"] < 0.2 * fast["w_norm_init"]).all()
    hinge = fast[fast["loss"] == "hinge"]
    # the hinge neuron's plateau is of the order d h (0.1 here)
    assert hinge["w_norm_tail"].between(0.2 * hinge["pred_dh"], 5 * hinge["pred_dh"]).all()


def test_fig3_and_fig4_shapes(built):
    fig3, fig4 = aggregate(built, "sparsity_fig3"), aggregate(built, "sparsity_fig4")
    assert len(fig3) == len(fig4) == 8
    assert (fig3["w2_norm_final"] < fig3["w2_norm_init"]).all()
    assert "b1_q50_final" in fig4 and "b1_q50_final" not in fig3
    assert fig4["active_final"].between(0, 40).all()
    # ReLU death at the larger rate (h = 1/d): the median hidden bias went down and fewer neurons fire
    fast = fig4[fig4["lr"] == 0.1]
    assert (fast["b1_q50_final"] < fast["b1_q50_init"]).all()
    assert (fast["active_final"] < 0.5 * fast["active_init"]).all()


def test_thm4_regimes(built):
    final = aggregate(built, "sparsity_thm4")
    assert len(final) == 3 * 4 and final["runs"].eq(8).all()
    large = final[final["rule"].isin(["h=1", "h=2"])]
    assert large["all_dead"].eq(1.0).all()  # Theorem 4.1
    small = final[final["rule"].isin(["h=1/k", "h=0.25/k"]) & (final["k"] == 32)]
    assert small["all_dead"].eq(0.0).all() and small["zero_frac_mean"].between(0.3, 0.7).all()


def test_fig5_mnist_standin(built):
    final = aggregate(built, "sparsity_fig5")
    assert len(final) == 2 and sorted(final["label_noise"]) == [0.0, 0.1]
    assert final["epoch"].eq(2).all() and final["hidden"].eq(32).all() and final["sample_size"].eq(12).all()
    assert final["test_error"].between(0, 1).all() and final["active_frac_train"].between(0, 1).all()
    assert (final["test_error"] < final["test_error_init"]).all()  # it learns the stand-in
    assert (built / "data/standin/mnist").is_dir()
