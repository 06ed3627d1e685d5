import math

import torch

from labelrepro.papers.sparsity import metrics


def test_active_neurons_hand_computed():
    # 2 inputs x 3 hidden units; 0 is not active (Definition 1 uses a strict inequality)
    z = torch.tensor([[1.0, -2.0, 0.0], [0.5, 3.0, 2.0]])
    assert metrics.active_neuron_counts(z).tolist() == [1, 3]
    assert metrics.typical_active_neurons(z).item() == 2.0


def test_active_neurons_batched_over_runs():
    z = torch.tensor([[[1.0, 1.0], [1.0, -1.0]], [[-1.0, -1.0], [-1.0, -1.0]]])  # (R=2, B=2, H=2)
    assert metrics.typical_active_neurons(z).tolist() == [1.5, 0.0]


def test_binary_error_and_logistic_loss():
    out = torch.tensor([2.0, -1.0, 0.0, 3.0])
    y = torch.tensor([1.0, 1.0, -1.0, -1.0])
    assert metrics.binary_error(out, y).item() == 0.5  # errors at index 1 and 3; 0 counts as -1
    losses = [math.log1p(math.exp(-2)), math.log1p(math.exp(1)), math.log(2), math.log1p(math.exp(3))]
    expected = sum(losses) / 4
    assert abs(metrics.logistic_loss(out, y).item() - expected) < 1e-6


def test_classification_error():
    logits = torch.tensor([[2.0, 1.0], [0.0, 1.0], [3.0, 0.0]])
    assert metrics.classification_error(logits, torch.tensor([0, 0, 0])) == 1 / 3
