"""Seed 004's losses: label relaxation against its definition and Propositions 1-3; CE, LS, CP, FL by hand."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from labelrepro.papers.relaxation import losses as L
from labelrepro.papers.relaxation.methods import METHODS


@pytest.fixture(autouse=True)
def _float64():
    """Double precision for exact comparisons; restored afterwards (other test modules share the process)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _random_logits(n: int, c: int, seed: int, scale: float = 3.0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=gen) * scale, torch.randint(0, c, (n,), generator=gen)


def test_closed_form_equals_kl_to_projection() -> None:
    """Eq. (5) = D_KL(p^r ‖ p̂) with p^r from Proposition 1, on random inputs inside and outside Q^α."""
    for alpha in (0.01, 0.1, 0.25, 0.4):
        logits, labels = _random_logits(500, 6, seed=int(alpha * 1000))
        probs = logits.softmax(-1)
        direct = L.kl_divergence(L.relaxation_projection(probs, labels, alpha), probs)
        torch.testing.assert_close(L.label_relaxation(logits, labels, alpha), direct, atol=1e-10, rtol=1e-9)


def test_hand_computed_value() -> None:
    """p̂ = (0.5, 0.3, 0.2), y = 0, α = 0.25: 0.75·log(0.75/0.5) + 0.25·log(0.25/0.5)."""
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2]]))
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert L.label_relaxation(logits, torch.tensor([0]), 0.25).item() == pytest.approx(expected, rel=1e-12)
    # inside Q^α (p̂_y = 0.8 ≥ 0.75): zero
    inside = torch.log(torch.tensor([[0.8, 0.15, 0.05]]))
    assert L.label_relaxation(inside, torch.tensor([0]), 0.25).item() == 0.0


def test_zero_loss_and_gradient_inside_q() -> None:
    logits = torch.tensor([[4.0, 0.0, -1.0], [0.0, 6.0, 1.0]], requires_grad=True)
    labels = torch.tensor([0, 1])
    loss = L.label_relaxation(logits, labels, 0.1)
    assert torch.all(loss == 0)
    loss.sum().backward()
    assert torch.all(logits.grad == 0)


def test_gradient_equals_kl_with_constant_projection() -> None:
    """∂L*/∂logits = p̂ − p^r: the same as back-propagating KL(p^r.detach() ‖ p̂) (the PyTorch port)."""
    logits, labels = _random_logits(200, 5, seed=3)
    a = logits.clone().requires_grad_(True)
    L.label_relaxation(a, labels, 0.2).sum().backward()
    b = logits.clone().requires_grad_(True)
    probs = b.softmax(-1)
    target = L.relaxation_projection(probs, labels, 0.2).detach()
    (target * (torch.log(target) - F.log_softmax(b, -1))).sum().backward()
    torch.testing.assert_close(a.grad, b.grad, atol=1e-10, rtol=1e-8)


def test_continuous_at_boundary() -> None:
    """L* → 0 as p̂_y ↓ 1 − α (and equals 0 at it)."""
    alpha = 0.25
    for delta in (1e-2, 1e-4, 1e-6):
        py = 1 - alpha - delta
        logits = torch.log(torch.tensor([[py, (1 - py) / 2, (1 - py) / 2]]))
        value = L.label_relaxation(logits, torch.tensor([0]), alpha).item()
        assert 0 < value < 10 * delta
    at = torch.log(torch.tensor([[1 - alpha, alpha / 2, alpha / 2]]))
    assert L.label_relaxation(at, torch.tensor([0]), alpha).item() == pytest.approx(0.0, abs=1e-15)


def _lr_of_probs(probs: torch.Tensor, label: int, alpha: float) -> torch.Tensor:
    return L.label_relaxation(torch.log(probs), torch.full(probs.shape[:-1], label), alpha)


def test_convex_in_prediction() -> None:
    """Proposition 3 on sampled pairs (p1, p2) and λ, covering all three cases of its proof."""
    gen = torch.Generator().manual_seed(7)
    p1 = torch.distributions.Dirichlet(torch.ones(4)).sample((4000,)).clamp_min(1e-9)
    p2 = torch.distributions.Dirichlet(torch.full((4,), 0.3)).sample((4000,)).clamp_min(1e-9)
    p1, p2 = p1 / p1.sum(-1, keepdim=True), p2 / p2.sum(-1, keepdim=True)
    lam = torch.rand(4000, 1, generator=gen)
    mix = lam * p1 + (1 - lam) * p2
    lhs = _lr_of_probs(mix, 0, 0.2)
    rhs = lam.squeeze(1) * _lr_of_probs(p1, 0, 0.2) + (1 - lam.squeeze(1)) * _lr_of_probs(p2, 0, 0.2)
    assert torch.all(lhs <= rhs + 1e-10)
    inside1, inside2 = p1[:, 0] >= 0.8, p2[:, 0] >= 0.8
    assert (inside1 & inside2).any() and (~inside1 & ~inside2).any() and (inside1 ^ inside2).any()


def test_projection_minimises_kl_on_simplex() -> None:
    """Proposition 1: over a fine grid of Q^α on the 3-class simplex no point beats p^r."""
    alpha, label = 0.25, 0
    step = 0.0025
    grid = [
        (a, b, 1 - a - b)
        for a, b in itertools.product(torch.arange(0, 1 + 1e-9, step).tolist(), repeat=2)
        if a + b <= 1 + 1e-12 and a >= 1 - alpha - 1e-12
    ]
    candidates = torch.tensor(grid).clamp_min(0)
    for probs in ([0.3, 0.5, 0.2], [0.6, 0.1, 0.3], [0.05, 0.05, 0.9]):
        p_hat = torch.tensor(probs)
        pr = L.relaxation_projection(p_hat[None], torch.tensor([label]), alpha)[0]
        best = L.kl_divergence(candidates, p_hat.expand_as(candidates)).min()
        at_pr = L.kl_divergence(pr[None], p_hat[None])[0]
        assert at_pr <= best + 1e-12
        assert best - at_pr < 1e-3  # the grid gets close to it: p^r is the minimiser, not a loose bound


def test_stable_for_extreme_logits() -> None:
    logits = torch.tensor([[1000.0, -1000.0, 0.0], [-800.0, 800.0, 0.0]], requires_grad=True)
    labels = torch.tensor([0, 0])
    for name in METHODS.in_order():
        loss = METHODS[name].loss(logits, labels, 0.1)
        assert torch.isfinite(loss).all(), name
        (grad,) = torch.autograd.grad(loss.sum(), logits)
        assert torch.isfinite(grad).all(), name
    # second sample: p̂_y ≈ e^-1600, L* ≈ 0.9·1600 (float probabilities would give inf)
    value = L.label_relaxation(logits, labels, 0.1)[1].item()
    assert value == pytest.approx(0.9 * (math.log(0.9) + 1600) + 0.1 * math.log(0.1), rel=1e-9)


def test_label_smoothing_uniform_convention() -> None:
    """LS = CE against (1 − α)·onehot + α/C, = PyTorch's label_smoothing."""
    logits, labels = _random_logits(50, 4, seed=11)
    torch.testing.assert_close(
        L.label_smoothing(logits, labels, 0.2),
        F.cross_entropy(logits, labels, label_smoothing=0.2, reduction="none"),
    )
    # per-run strengths on (R, B, C) logits
    stacked = torch.stack([logits, logits])
    both = L.label_smoothing(stacked, torch.stack([labels, labels]), torch.tensor([[0.0], [0.2]]))
    torch.testing.assert_close(both[0], F.cross_entropy(logits, labels, reduction="none"))
    torch.testing.assert_close(both[1], L.label_smoothing(logits, labels, 0.2))


def test_confidence_penalty_and_focal_by_hand() -> None:
    probs = torch.tensor([[0.5, 0.3, 0.2]])
    logits, label = torch.log(probs), torch.tensor([1])
    entropy = -(0.5 * math.log(0.5) + 0.3 * math.log(0.3) + 0.2 * math.log(0.2))
    assert L.confidence_penalty(logits, label, 0.4).item() == pytest.approx(-math.log(0.3) - 0.4 * entropy)
    assert L.focal_loss(logits, label, 2.0).item() == pytest.approx(-(0.7**2) * math.log(0.3))
    assert L.focal_loss(logits, label, 0.0).item() == pytest.approx(-math.log(0.3))
    assert L.cross_entropy(logits, label).item() == pytest.approx(-math.log(0.3))


def test_bad_alpha_and_unknown_loss() -> None:
    logits, labels = _random_logits(3, 3, seed=0)
    with pytest.raises(ValueError, match="0 < alpha < 1"):
        L.label_relaxation(logits, labels, 0.0)
    with pytest.raises(ValueError, match="unknown loss"):
        L.per_sample_loss("mse", logits, labels, 0.1)
