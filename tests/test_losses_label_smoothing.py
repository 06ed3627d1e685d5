"""The shared label-smoothing loss in both conventions, against hand-computed values."""

import math

import pytest
import torch

from labelrepro.losses.label_smoothing import label_smoothing_cross_entropy, smoothed_targets


def test_targets_by_hand():
    y = torch.tensor([1])
    uniform = smoothed_targets(y, 4, 0.2, "uniform")
    others = smoothed_targets(y, 4, 0.2, "others")
    assert uniform.tolist()[0] == pytest.approx([0.05, 0.85, 0.05, 0.05])
    assert others.tolist()[0] == pytest.approx([0.2 / 3, 0.8, 0.2 / 3, 0.2 / 3])


def test_per_sample_strength_and_rows_sum_to_one():
    y = torch.tensor([0, 2])
    t = smoothed_targets(y, 3, torch.tensor([0.0, 0.5]), "others")
    assert torch.allclose(t, torch.tensor([[1.0, 0.0, 0.0], [0.25, 0.25, 0.5]]))
    assert torch.allclose(t.sum(1), torch.ones(2))


def test_loss_by_hand():
    logits = torch.tensor([[2.0, 0.0, 0.0, 0.0]])
    log_z = math.log(math.exp(2.0) + 3.0)
    on, off = 2.0 - log_z, -log_z                      # log-softmax of the label / of the others
    got = label_smoothing_cross_entropy(logits, torch.tensor([0]), 0.2, "uniform")
    assert got.item() == pytest.approx(-(0.85 * on + 3 * 0.05 * off), rel=1e-6)
    got = label_smoothing_cross_entropy(logits, torch.tensor([0]), 0.2, "others")
    assert got.item() == pytest.approx(-(0.8 * on + 0.2 * off), rel=1e-6)


def test_zero_strength_is_cross_entropy_and_uniform_matches_pytorch():
    torch.manual_seed(0)
    logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    ce = torch.nn.functional.cross_entropy(logits, y)
    assert torch.allclose(label_smoothing_cross_entropy(logits, y, 0.0, "others"), ce)
    ref = torch.nn.functional.cross_entropy(logits, y, label_smoothing=0.3)
    assert torch.allclose(label_smoothing_cross_entropy(logits, y, 0.3, "uniform"), ref)


def test_bad_convention_and_shape_are_errors():
    with pytest.raises(ValueError, match="convention"):
        smoothed_targets(torch.tensor([0]), 3, 0.1, "keras")
    with pytest.raises(ValueError, match="shape"):
        smoothed_targets(torch.tensor([0, 1]), 3, torch.tensor([0.1, 0.2, 0.3]), "uniform")
