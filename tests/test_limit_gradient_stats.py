"""Seed 001 Figs. A1-A3: the per-example gradient statistics, their ROC AUC, the best-instance selection,
the confusing-label grid selection, and that the figures' cells are the tables' runs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from labelrepro.experiment import load_experiments
from labelrepro.papers.limit.gradient_figures import decode_image, top_confusing
from labelrepro.papers.limit.gradient_stats import (
    auc_standard_error,
    confusing_rank,
    gradient_norms,
    limit_gradient_summary,
    oof_label_quality,
    roc_auc,
    select_best,
)


def test_roc_auc_hand_example():
    # positives 0.9, 0.4 vs negatives 0.5, 0.1: 3 of the 4 pairs are ordered -> 0.75; a tie counts 1/2
    assert roc_auc([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1]) == pytest.approx(0.75)
    assert roc_auc([1, 0], [0.3, 0.3]) == pytest.approx(0.5)
    assert roc_auc([True, True, False, False], [0.9, 0.8, 0.2, 0.1]) == pytest.approx(1.0)
    assert math.isnan(roc_auc([0, 0], [0.1, 0.2]))  # one class only


def test_auc_standard_error_is_hanley_mcneil():
    auc, n_pos, n_neg = 0.75, 2, 2
    q1, q2 = 0.75 / 1.25, 2 * 0.5625 / 1.75
    var = (0.75 * 0.25 + 1 * (q1 - 0.5625) + 1 * (q2 - 0.5625)) / 4
    assert auc_standard_error(auc, n_pos, n_neg) == pytest.approx(math.sqrt(var))
    assert auc_standard_error(1.0, 50, 50) == pytest.approx(0.0)


def test_gradient_norms_three_class_hand_example():
    # a = 0 -> s(a) = 1/3 each; s(b) = (1/2, 1/4, 1/4); label 0
    a = torch.zeros(1, 3)
    b = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    norm, dist = gradient_norms(a, b, torch.tensor([0]))
    # mu = s(a) - s(b) = (-1/6, 1/12, 1/12); mu - g = onehot - s(b) = (1/2, -1/4, -1/4)
    assert norm.item() == pytest.approx(math.sqrt(1 / 36 + 2 / 144), rel=1e-6)
    assert dist.item() == pytest.approx(math.sqrt(0.25 + 2 * 0.0625), rel=1e-6)
    _, dist_label_1 = gradient_norms(a, b, torch.tensor([1]))  # onehot(1) - s(b) = (-1/2, 3/4, -1/4)
    assert dist_label_1.item() == pytest.approx(math.sqrt(0.25 + 0.5625 + 0.0625), rel=1e-6)


def test_confusing_rank_and_top_per_class():
    labels = [0, 0, 1, 1, 1, 1]
    distance = [0.1, 0.5, 0.3, 0.9, 0.3, 0.2]
    ranks = confusing_rank(labels, distance)
    assert list(ranks) == [1, 0, 1, 0, 2, 3]  # per class, largest first; the tie keeps example order
    case = pd.DataFrame({"sample": range(6), "label": labels, "distance": distance, "confusing_rank": ranks})
    top = top_confusing(case, k=2)
    assert sorted(top) == [0, 1]
    assert list(top[0]["sample"]) == [1, 0] and list(top[1]["sample"]) == [3, 2]


def test_decode_image_round_trip():
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)[:1]  # 1 x 3 x 3
    row = pd.Series({"image_shape": "1x3x3", "image_hex": image.tobytes().hex()})
    assert (decode_image(row) == image[0]).all()
    rgb = np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2)
    row = pd.Series({"image_shape": "3x2x2", "image_hex": rgb.tobytes().hex()})
    assert decode_image(row).shape == (2, 2, 3) and decode_image(row)[0, 1, 2] == rgb[2, 0, 1]


def test_select_best_per_case_by_validation_accuracy():
    def entry(run, method, rate, dataset="mnist"):
        settings = {"method": method, "noise_rate": rate, "dataset": dataset}
        return {"cell": run, "run": run, "settings": settings}

    entries = [entry("a", "limit_g", 0.8), entry("b", "limit_l", 0.8), entry("c", "ce", 0.8),
               entry("d", "limit_g", 0.4, "cifar10"), entry("e", "limit_l", 0.4, "cifar10")]
    val = {"a": 0.5, "b": 0.7, "c": 0.9, "d": 0.6, "e": 0.6}
    assert [e["run"] for e in select_best(entries, val)] == ["b", "d"]  # CE is not LIMIT; tie -> first


def test_summary_aucs():
    samples = pd.DataFrame({
        "cell": "x", "dataset": "mnist", "noise_model": "uniform", "noise_rate": 0.5, "train_size": 0,
        "method": "limit_g", "beta": 1.0, "sigma": 0.0, "seed": 42, "val_acc": 0.9,
        "noisy": [True, True, False, False], "distance": [0.9, 0.4, 0.5, 0.1],
        "pred_norm": [0.1, 0.2, 0.3, 0.4], "cleanlab_quality": [0.1, 0.2, 0.8, 0.9],
        "label": [0, 1, 0, 1], "predicted": [1, 1, 0, 1], "confusing_rank": [0, 1, 1, 0],
    })
    row = limit_gradient_summary(samples).iloc[0]
    assert row["auc_distance"] == pytest.approx(0.75) and row["auc_norm"] == pytest.approx(0.0)
    assert row["auc_cleanlab"] == pytest.approx(1.0) and row["n_noisy"] == 2
    assert row["disagree_rate"] == pytest.approx(0.25)


def test_cleanlab_oof_scores_find_flipped_labels():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 60)
    features = rng.normal(size=(180, 5)) + 4.0 * np.eye(3, 5)[labels]
    given = labels.copy()
    flipped = rng.choice(180, 18, replace=False)
    given[flipped] = (given[flipped] + 1) % 3
    quality = oof_label_quality(features, given, 3, folds=3, pca=0, max_iter=200, seed=0)
    assert quality.shape == (180,)
    assert roc_auc(given != labels, 1 - quality) > 0.95


@pytest.fixture(scope="module")
def experiments():
    return load_experiments()


@pytest.mark.parametrize("scale", ["smoke", "paper"])
def test_figures_read_the_tables_runs(experiments, scale):
    """A1/A2's MNIST and CIFAR-10 cells and all of A3's are runs of limit_table4-7 (nothing retrained);
    only CIFAR-100 has runs of its own."""
    tables = {c.run.id for name in ("limit_table4", "limit_table5", "limit_table6", "limit_table7")
              for c in experiments[name].cells(scale).values()}
    for name in ("limit_figA1", "limit_figA2", "limit_figA3"):
        for cell in experiments[name].cells(scale).values():
            own = cell.settings["dataset"] == "cifar100" or (  # A3's smoke MNIST runs: its own (beta 3)
                scale == "smoke" and name == "limit_figA3" and cell.settings["dataset"] == "mnist")
            assert (cell.run.id in tables) != own, (name, cell.name)
    a1 = experiments["limit_figA1"].cells(scale)
    a2 = experiments["limit_figA2"].cells(scale)
    assert {c.run.id for c in a1.values()} == {c.run.id for c in a2.values()}
    mnist = [c for c in a1.values() if c.settings["dataset"] == "mnist"]
    assert mnist and all(c.seeds == ((42, 43, 44, 45, 46) if scale == "paper" else (42,)) for c in mnist)


def test_paper_grid_sizes(experiments):
    a1 = experiments["limit_figA1"].cells("paper").values()
    by_case = pd.Series([c.point["case"] for c in a1]).value_counts().to_dict()
    # Table 5 (16 LIMIT - S + 64 LIMIT + S), Table 6 (4 x 7), Table 7 (2 x 7 + 2 x 6), CIFAR-100 (2 x 7)
    assert by_case == {"mnist_u80": 80, "cifar10_u40": 28, "cifar10_pair40": 26, "cifar100_u40": 14}
    a3 = experiments["limit_figA3"].cells("paper").values()
    assert pd.Series([c.point["case"] for c in a3]).value_counts().to_dict() == {"mnist_clean": 80,
                                                                                "cifar10_clean": 26}
