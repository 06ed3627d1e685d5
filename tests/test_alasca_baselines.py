"""ALASCA Table 1's baselines against values computed by hand (papers/alasca/baselines.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from labelrepro.papers.alasca import baselines as B


def _logits_for(probs):
    return torch.log(torch.tensor(probs, dtype=torch.float64))


def test_gce_by_hand():
    logits = _logits_for([[0.5, 0.25, 0.25], [0.2, 0.6, 0.2]])
    labels = torch.tensor([0, 1])
    expected = ((1 - 0.5 ** 0.7) / 0.7 + (1 - 0.6 ** 0.7) / 0.7) / 2
    assert B.gce_loss(logits, labels).item() == pytest.approx(expected, rel=1e-9)
    # q = 1 is MAE's 1 - p_y
    assert B.gce_loss(logits, labels, q=1.0).item() == pytest.approx((0.5 + 0.4) / 2, rel=1e-9)


def test_sce_by_hand():
    logits = _logits_for([[0.5, 0.25, 0.25]])
    labels = torch.tensor([0])
    # CE against the clamped one-hot (1, 1e-4, 1e-4); RCE = -log(1e-4) * (0.25 + 0.25)
    ce = -(math.log(0.5) + 2 * 1e-4 * math.log(0.25))
    rce = -math.log(1e-4) * 0.5
    assert B.sce_loss(logits, labels).item() == pytest.approx(1.0 * ce + 0.4 * rce, rel=1e-9)


def test_elr_target_update_and_loss_by_hand():
    elr = B.EarlyLearningRegularisation(num_samples=3, num_classes=2, beta=0.7, lam=3.0)
    logits = _logits_for([[0.8, 0.2]]).float()
    idx = torch.tensor([1])
    loss = elr(logits, torch.tensor([0]), idx)
    # t = 0.3 * (0.8, 0.2) = (0.24, 0.06); <t, p> = 0.24*0.8 + 0.06*0.2 = 0.204
    assert elr.targets[1].tolist() == pytest.approx([0.24, 0.06], rel=1e-6)
    assert elr.targets[0].tolist() == [0.0, 0.0]
    assert loss.item() == pytest.approx(-math.log(0.8) + 3.0 * math.log(1 - 0.204), rel=1e-5)
    elr(logits, torch.tensor([0]), idx)                     # second visit: 0.7 * t + 0.3 * p
    assert elr.targets[1].tolist() == pytest.approx([0.7 * 0.24 + 0.24, 0.7 * 0.06 + 0.06], rel=1e-6)


def test_coteaching_schedule_and_exchange():
    # linspace(0, 0.5, 5) for epochs 0..4, then 0.5
    assert [B.coteaching_forget_rate(e, 0.5, 5) for e in range(7)] == pytest.approx(
        [0.0, 0.125, 0.25, 0.375, 0.5, 0.5, 0.5])
    labels = torch.tensor([0, 0, 0, 0])
    logits_1 = torch.log(torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]))
    logits_2 = torch.log(torch.tensor([[0.1, 0.9], [0.95, 0.05], [0.5, 0.5], [0.7, 0.3]]))
    keep_1, keep_2 = B.coteaching_select(logits_1, logits_2, labels, forget_rate=0.5)
    assert keep_1.tolist() == [0, 2] and keep_2.tolist() == [1, 3]


def test_facility_location_on_six_points():
    # two tight clusters on a line: {0, 0.1, 0.2} and {10, 10.1, 10.2}
    points = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    medoids, weights = B.facility_location(points, 2)
    # first pick: the point maximising the summed similarity (max dist 10.2 - dist) is 0.2 or 10.0
    # (symmetric: sums 10.2*6 - (0.2+0.1+0+9.8+9.9+10.0) = 31.2 for both); argmax takes the first, 0.2
    assert medoids.tolist()[0] == 2
    assert set(medoids.tolist()) == {2, 4}                 # then the middle of the far cluster
    assert weights.tolist() == [3.0, 3.0]
    idx, w = B.crust_coreset(points, np.array([0, 0, 0, 1, 1, 1]), fraction=0.3)  # 1 per class
    assert sorted(idx.tolist()) == [1, 4] and w.tolist() == [3.0, 3.0]


def test_fine_scores_on_rank_one_example_and_gmm():
    rng = np.random.default_rng(0)
    direction = np.array([1.0, 0.0, 0.0])
    clean = np.outer(rng.uniform(1, 2, 40), direction)                # on the class direction: score 1
    noisy = rng.normal(size=(10, 3)) * np.array([0.0, 1.0, 1.0])        # orthogonal to it: score 0
    features = np.vstack([clean, noisy])
    labels = np.zeros(50, dtype=int)
    scores = B.fine_scores(features, labels)
    assert scores[:40] == pytest.approx(np.ones(40))
    assert np.abs(scores[40:]).max() < 0.3
    mask = B.fine_clean_mask(scores, labels)
    assert mask[:40].all() and not mask[40:].any()


def test_selection_f1_by_hand():
    selected = np.array([True, True, False, True, False])
    is_clean = np.array([True, False, True, True, False])
    # tp = 2, precision 2/3, recall 2/3 -> F1 2/3
    assert B.selection_f1(selected, is_clean) == pytest.approx(2 / 3)
    assert B.selection_f1(np.zeros(5, bool), is_clean) == 0.0
