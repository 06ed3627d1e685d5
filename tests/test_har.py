"""HAR baseline (Cao et al. 2021) as used in ALASCA's Table 3: Jacobian penalty and adaptive strengths."""

from __future__ import annotations

import pytest
import torch

from labelrepro.papers.alasca.har import adaptive_strengths, har_loss, jacobian_penalty, label_uncertainty


def test_jacobian_penalty_of_a_linear_map_by_hand() -> None:
    # f = A h (per sample) with A = [[1, 2], [3, 4], [0, 1]]; J = A, so vᵀJ = vᵀA.
    A = torch.tensor([[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]])
    h = torch.tensor([[0.5, -1.0], [2.0, 0.0]], requires_grad=True)
    logits = h @ A.T
    v = torch.tensor([[1.0, 0.0, 0.0], [1.0, -1.0, 2.0]])
    # sample 0: vᵀA = [1, 2] → 5; sample 1: [1 − 3 + 0, 2 − 4 + 2] = [−2, 0] → 4
    assert torch.allclose(jacobian_penalty([h], logits, v), torch.tensor([5.0, 4.0]))


def test_jacobian_penalty_sums_layers_and_is_differentiable() -> None:
    w = torch.tensor(2.0, requires_grad=True)
    h1 = torch.tensor([[1.0]], requires_grad=True)
    h2 = w * h1  # d logits / d h2 = 3, d logits / d h1 = 3w = 6
    logits = torch.cat([3.0 * h2, torch.zeros(1, 1)], dim=1)
    penalty = jacobian_penalty([h1, h2], logits, torch.tensor([[1.0, 5.0]]))
    assert penalty.item() == pytest.approx(9.0 + 36.0)
    penalty.sum().backward()  # d/dw (9 + 9w²) = 18w = 36: the penalty trains the weights (double backprop)
    assert w.grad.item() == pytest.approx(36.0)


def test_random_projection_estimates_frobenius_norm() -> None:
    A = torch.tensor([[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]])  # ‖A‖²_F = 31
    n = 20000
    h = torch.zeros(n, 2, requires_grad=True)
    v = torch.randn(n, 3, generator=torch.Generator().manual_seed(0))
    estimate = jacobian_penalty([h], h @ A.T, v).mean().item()
    assert estimate == pytest.approx(31.0, rel=0.05)


def test_uncertainty_and_strengths_by_hand() -> None:
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    u = label_uncertainty(probs, torch.tensor([0, 0, 1]))
    assert torch.allclose(u, torch.tensor([0.1, 0.8, 0.5]))
    tau = adaptive_strengths(u, power=0.6)
    raw = torch.tensor([0.1, 0.8, 0.5]) ** 0.6
    assert torch.allclose(tau, raw / raw.mean())
    assert tau.mean().item() == pytest.approx(1.0)
    assert torch.equal(adaptive_strengths(torch.zeros(3)), torch.ones(3))
    with pytest.raises(ValueError):
        adaptive_strengths(u, power=-1.0)


def test_har_loss_is_ce_plus_weighted_penalty() -> None:
    A = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    h = torch.tensor([[1.0, 1.0], [0.0, 1.0]], requires_grad=True)
    logits = h @ A.T
    y = torch.tensor([0, 1])
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # penalties 1 and 4
    loss, mean_penalty = har_loss(logits, y, [h], torch.tensor([2.0, 0.5]), v, lam=0.1)
    ce = torch.nn.functional.cross_entropy(logits, y)
    assert loss.item() == pytest.approx(ce.item() + 0.1 * (2.0 * 1.0 + 0.5 * 4.0) / 2)
    assert mean_penalty.item() == pytest.approx(2.5)
