"""Seed 002 figures: Fig. 3's confidence log, Figs. 1/2b's penultimate and Jacobian norms (hand values)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from labelrepro.papers.alasca.confidence import ConfidenceLog, epoch_row
from labelrepro.papers.alasca.figures import confidence_summary, model_stats_summary
from labelrepro.papers.alasca.jacobian import (
    classwise_mean,
    exact_jacobian_frobenius_sq,
    jacobian_frobenius_sq,
    penultimate_norms,
)


def _totals(sums):
    return {k: float(v) for k, v in sums.items()}


def test_confidence_log_hand_values():
    log = ConfidenceLog(3, torch.device("cpu"))
    # sample 0: logits (ln 3, 0), label 0 -> p = 0.75; sample 1: (0, 0) -> 0.5; sample 2 noisy: (0, ln 3),
    # label 0 -> 0.25
    logits = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0], [0.0, math.log(3.0)]])
    labels = torch.tensor([0, 0, 0])
    clean = torch.tensor([0, 0, 1])
    ema = torch.tensor([0.9, 0.7, 0.1])
    row = epoch_row(_totals(log.batch_sums(torch.arange(3), logits, labels, clean, ema)))
    assert row["conf_inst_clean_mean"] == pytest.approx(0.625)
    assert row["conf_inst_clean_std"] == pytest.approx(0.125)  # population std of {0.75, 0.5}
    assert row["conf_inst_noisy_mean"] == pytest.approx(0.25)
    assert row["conf_inst_noisy_std"] == pytest.approx(0.0, abs=1e-7)
    assert row["conf_ema_clean_mean"] == pytest.approx(0.8)
    assert math.isnan(row["conf_inst_clean_change"])  # no previous visit yet
    # second visit of samples 0 and 2: inst 0.5 (was 0.75) and 0.5 (was 0.25)
    row = epoch_row(_totals(log.batch_sums(torch.tensor([0, 2]), torch.zeros(2, 2), torch.tensor([0, 0]),
                                           torch.tensor([0, 1]), torch.tensor([0.9, 0.3]))))
    assert row["conf_inst_clean_change"] == pytest.approx(0.25)
    assert row["conf_inst_noisy_change"] == pytest.approx(0.25)
    assert row["conf_ema_clean_change"] == pytest.approx(0.0, abs=1e-7)
    assert row["conf_ema_noisy_change"] == pytest.approx(0.2)


def test_confidence_summary_averages_epochs():
    curves = pd.DataFrame({
        "cell": ["c", "c"], "seed": [0, 0], "epoch": [1, 2],
        **{f"conf_{k}_{g}_{s}": [v, v] for k in ("inst", "ema") for g, v in (("clean", 0.8), ("noisy", 0.4))
           for s in ("mean",)},
        **{f"conf_{k}_{g}_std": [0.1, 0.1] for k in ("inst", "ema") for g in ("clean", "noisy")},
        **{f"conf_{k}_{g}_change": [math.nan, 0.2] for k in ("inst", "ema") for g in ("clean", "noisy")},
    })
    row = confidence_summary(curves).iloc[0]
    assert row["gap_inst"] == pytest.approx(0.4)
    assert row["separation_ema"] == pytest.approx(4.0)  # 0.4 / 0.1
    assert row["change_inst_noisy"] == pytest.approx(0.2)  # NaN (first epoch) skipped


def test_penultimate_norm_and_classwise_mean():
    h = torch.tensor([[3.0, 4.0], [0.0, 1.0], [6.0, 8.0]])
    norms = penultimate_norms(h)
    assert norms.tolist() == [5.0, 1.0, 10.0]
    means = classwise_mean(norms, torch.tensor([0, 1, 0]), 3)
    assert means[:2].tolist() == [7.5, 1.0] and math.isnan(means[2])


def test_jacobian_estimator_on_a_linear_map():
    # h(x) = A x, J = A, ||A||_F^2 = 1 + 4 + 9 + 16 + 0 + 4 = 34 (hand value)
    a = torch.tensor([[1.0, 2.0, 0.0], [3.0, 4.0, 2.0]])
    fn = lambda x: x @ a.T  # noqa: E731
    x = torch.randn(4, 3)
    assert exact_jacobian_frobenius_sq(fn, x).tolist() == pytest.approx([34.0] * 4)
    est = jacobian_frobenius_sq(fn, x, 4000, torch.Generator().manual_seed(0))
    # unbiased: the mean of 4000 draws is within ~4 standard errors (sd <= sqrt(2/4000) * 34 = 0.76)
    assert est.shape == (4,) and est.mean().item() == pytest.approx(34.0, abs=3.0)
    one = jacobian_frobenius_sq(fn, x[:1], 1, torch.Generator().manual_seed(1))
    assert one.item() >= 0


def test_model_stats_summary_ratio():
    samples = pd.DataFrame({
        "cell": ["c"] * 4, "method": ["als"] * 4, "seed": [0] * 4, "run": ["r"] * 4,
        "sample": [0, 1, 2, 3], "label": [0, 0, 1, 1], "true_label": [0, 1, 1, 1],
        "noisy": [False, True, False, False], "feature_norm": [1.0, 3.0, 4.0, 6.0],
        "jacobian_sq": [4.0, 1.0, 16.0, 36.0], "jacobian_norm": [2.0, 1.0, 4.0, 6.0],
    })
    row = model_stats_summary(samples).iloc[0]
    assert row["method"] == "als" and row["n_noisy"] == 1
    assert row["feature_norm_classwise"] == pytest.approx(3.5)  # mean of class means 2 and 5
    assert row["jacobian_clean_median"] == pytest.approx(4.0)
    assert row["jacobian_noisy_over_clean"] == pytest.approx(0.25)
