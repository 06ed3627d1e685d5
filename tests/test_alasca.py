"""ALASCA losses (seed 002): ULS targets, Ω (Eq. 1), ALS (Eq. 2), EMA confidence (Alg. 1), ALASCA*."""

from __future__ import annotations

import math

import pytest
import torch

from labelrepro.papers.alasca.losses import (
    EmaConfidence,
    adaptive_label_smoothing_loss,
    adaptive_smoothing_factor,
    alasca_loss,
    alasca_star_logits,
    smoothing_regulariser,
    uniform_label_smoothing_loss,
    uniform_label_smoothing_targets,
)

LOG2, LOG3 = math.log(2.0), math.log(3.0)


def _logits_half_quarter() -> torch.Tensor:
    # f = (log 2, 0, 0): e^f = (2, 1, 1), Σ = 4, so S(f) = (1/2, 1/4, 1/4) for both rows.
    return torch.tensor([[LOG2, 0.0, 0.0], [LOG2, 0.0, 0.0]], dtype=torch.float64)


def test_uls_targets_paper_and_official_by_hand() -> None:
    y = torch.tensor([1, 3])
    # Paper (Section 2.2), L = 4, α = 0.2: label 1 − 0.2 + 0.2/4 = 0.85, others 0.2/4 = 0.05.
    paper = uniform_label_smoothing_targets(y, 4, 0.2, form="paper")
    expected_paper = torch.tensor([[0.05, 0.85, 0.05, 0.05], [0.05, 0.05, 0.05, 0.85]])
    torch.testing.assert_close(paper, expected_paper)
    # Official: label 1 − 0.2 = 0.8, others 0.2/3.
    off = uniform_label_smoothing_targets(y, 4, 0.2, form="official")
    o = 0.2 / 3
    torch.testing.assert_close(off, torch.tensor([[o, 0.8, o, o], [o, o, o, 0.8]]))
    torch.testing.assert_close(paper.sum(1), torch.ones(2))
    torch.testing.assert_close(off.sum(1), torch.ones(2))
    # Per-sample α: row 0 α = 0 (one-hot), row 1 α = 1 (uniform 1/4 under the paper's form).
    per = uniform_label_smoothing_targets(y, 4, torch.tensor([0.0, 1.0]), form="paper")
    torch.testing.assert_close(per, torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]]))


def test_uls_loss_by_hand() -> None:
    logits = _logits_half_quarter()[:1]
    y = torch.tensor([0])
    # Paper targets, L = 3, α = 0.3: (0.8, 0.1, 0.1); −[0.8·log(1/2) + 0.2·log(1/4)] = 0.8·log2 + 0.4·log2.
    loss = uniform_label_smoothing_loss(logits, y, 0.3, form="paper")
    assert loss.item() == pytest.approx(1.2 * LOG2)


def test_omega_eq1_by_hand() -> None:
    # Ω(f) = L·logsumexp(f) − Σ f. For (log 2, 0, 0): 3·log 4 − log 2 = 6·log2 − log2 = 5·log2.
    omega = smoothing_regulariser(_logits_half_quarter())
    torch.testing.assert_close(omega, torch.full((2,), 5 * LOG2, dtype=torch.float64))
    # (1, 2, 3): 3·log(e + e² + e³) − 6.
    f = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    expected = 3 * math.log(math.e + math.e**2 + math.e**3) - 6.0
    assert smoothing_regulariser(f).item() == pytest.approx(expected)
    # Equal logits c: 3·(c + log 3) − 3c = 3·log 3 (the minimum L·log L), whatever c (shift invariance).
    eq = torch.full((1, 3), 7.5, dtype=torch.float64)
    assert smoothing_regulariser(eq).item() == pytest.approx(3 * LOG3)
    # Ω(f) = ℓ(f, 1_L): cross-entropy against the all-ones vector.
    assert smoothing_regulariser(f).item() == pytest.approx(-torch.log_softmax(f, 1).sum().item())


def test_adaptive_smoothing_factor_is_one_minus_label_confidence() -> None:
    probs = torch.tensor([[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]], requires_grad=True)
    a = adaptive_smoothing_factor(probs, torch.tensor([0, 1]))
    torch.testing.assert_close(a, torch.tensor([0.5, 0.75]))
    assert not a.requires_grad  # α̃ is a constant weight


def test_als_eq2_by_hand() -> None:
    logits = _logits_half_quarter()
    y = torch.tensor([0, 1])
    alpha = adaptive_smoothing_factor(torch.softmax(logits, 1), y)  # (1 − 1/2, 1 − 1/4) = (0.5, 0.75)
    torch.testing.assert_close(alpha, torch.tensor([0.5, 0.75], dtype=torch.float64))
    # Row 0: CE = −log(1/2) = log2, Ω = 5·log2 → 0.5·log2 + 0.5·5·log2 = 3·log2.
    # Row 1: CE = −log(1/4) = 2·log2 → 0.25·2·log2 + 0.75·5·log2 = 4.25·log2.
    per = adaptive_label_smoothing_loss(logits, y, alpha, form="eq2", reduction="none")
    torch.testing.assert_close(per, torch.tensor([3.0 * LOG2, 4.25 * LOG2], dtype=torch.float64))
    mean = adaptive_label_smoothing_loss(logits, y, alpha, form="eq2")  # mean over the batch
    assert mean.item() == pytest.approx(3.625 * LOG2)
    # "ls_paper": (1 − α)·CE + (α/3)·Ω; row 0: 0.5·log2 + (0.5/3)·5·log2 = (4/3)·log2.
    lsp = adaptive_label_smoothing_loss(logits, y, alpha, form="ls_paper", reduction="none")
    assert lsp[0].item() == pytest.approx(4.0 / 3.0 * LOG2)
    # "ls_official": row 0 target (0.5, 0.25, 0.25): 0.5·log2 + 2·0.25·log4 = 1.5·log2.
    lso = adaptive_label_smoothing_loss(logits, y, alpha, form="ls_official", reduction="none")
    assert lso[0].item() == pytest.approx(1.5 * LOG2)
    # The default is the official form.
    assert torch.equal(adaptive_label_smoothing_loss(logits, y, alpha, reduction="none"), lso)


def test_als_alpha_gets_no_gradient() -> None:
    logits = torch.randn(4, 5, requires_grad=True, generator=torch.Generator().manual_seed(0))
    alpha = torch.full((4,), 0.3, requires_grad=True)
    adaptive_label_smoothing_loss(logits, torch.tensor([0, 1, 2, 3]), alpha).backward()
    assert alpha.grad is None
    assert logits.grad is not None


def test_ema_two_steps_by_hand() -> None:
    ema = EmaConfidence(num_samples=3, num_classes=2, beta=0.7, tau=1 / 3)
    idx = torch.tensor([0, 2])
    # Step 1: t_0 = 0.7·0 + 0.3·(1, 0) = (0.3, 0); t_2 = 0.3·(0, 2) = (0, 0.6).
    ema.update(idx, torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    torch.testing.assert_close(ema.ema, torch.tensor([[0.3, 0.0], [0.0, 0.0], [0.0, 0.6]]))
    # Step 2: t_0 = 0.7·(0.3, 0) + 0.3·(3, 0) = (1.11, 0); t_2 = 0.7·(0, 0.6) + 0.3·(0, 0) = (0, 0.42).
    ema.update(idx, torch.tensor([[3.0, 0.0], [0.0, 0.0]]))
    torch.testing.assert_close(ema.ema, torch.tensor([[1.11, 0.0], [0.0, 0.0], [0.0, 0.42]]))
    # Sharpening: S(t/τ) with τ = 1/3 → t/τ = (3.33, 0): confidence in class 0 = σ(3.33);
    # sample 1 never seen → t = 0 → 1/2; sample 2, label 0: t/τ = (0, 1.26) → σ(−1.26).
    conf = ema.confidence(torch.tensor([0, 1, 2]), torch.tensor([0, 0, 0]))
    sig = lambda v: 1.0 / (1.0 + math.exp(-v))  # noqa: E731
    torch.testing.assert_close(conf, torch.tensor([sig(3.33), 0.5, sig(-1.26)]))
    alpha = ema.smoothing_factor(torch.tensor([0, 1, 2]), torch.tensor([0, 0, 0]))
    torch.testing.assert_close(alpha, 1.0 - conf)


def test_ema_state_dict_roundtrip() -> None:
    ema = EmaConfidence(4, 3)
    ema.update(torch.tensor([1, 3]), torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]]))
    other = EmaConfidence(4, 3, beta=0.5, tau=1.0)
    other.load_state_dict(ema.state_dict())
    torch.testing.assert_close(other.ema, ema.ema)
    assert (other.beta, other.tau) == (0.7, pytest.approx(1 / 3))
    with pytest.raises(ValueError, match="shape mismatch"):
        EmaConfidence(5, 3).load_state_dict(ema.state_dict())


def test_alasca_loss_composition_by_hand() -> None:
    main = torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([0, 1])
    alpha = torch.tensor([0.5, 0.75], dtype=torch.float64)
    ac1 = _logits_half_quarter()  # mean ALS 3.625·log2 (see test_als_eq2_by_hand)
    # ac2 = 0: CE = log3, Ω = 3·log3 → (1 − α)·log3 + α·3·log3 = (1 + 2α)·log3 = (2, 2.5)·log3,
    # mean 2.25·log3.
    ac2 = torch.zeros(2, 3, dtype=torch.float64)

    def base(z: torch.Tensor, _: torch.Tensor) -> torch.Tensor:
        return (z**2).mean()  # (1 + 4)/6 = 5/6 for `main`

    total = alasca_loss(main, [ac1, ac2], y, base, alpha, lam=2.0, form="eq2")
    expected = 5.0 / 6.0 + 2.0 * (3.625 * LOG2 + 2.25 * LOG3)
    assert total.item() == pytest.approx(expected)
    assert alasca_loss(main, [], y, base, alpha).item() == pytest.approx(5.0 / 6.0)


def test_alasca_star_ensembles_by_hand() -> None:
    main = torch.tensor([[1.0, 0.0]])
    acs = [torch.tensor([[3.0, 0.0]]), torch.tensor([[-1.0, 2.0]])]
    # Logit average of all three: ((1 + 3 − 1)/3, (0 + 0 + 2)/3) = (1, 2/3).
    torch.testing.assert_close(alasca_star_logits(main, acs), torch.tensor([[1.0, 2.0 / 3.0]]))
    # Official evaluation: main and last AC: ((1 − 1)/2, (0 + 2)/2) = (0, 1).
    torch.testing.assert_close(
        alasca_star_logits(main, acs, heads="main_and_last"), torch.tensor([[0.0, 1.0]])
    )
    # Probability average: p_0 = (σ(1) + σ(3) + σ(−3))/3 = (σ(1) + 1)/3 since σ(3) + σ(−3) = 1.
    sig = lambda v: 1.0 / (1.0 + math.exp(-v))  # noqa: E731
    p0 = (sig(1.0) + 1.0) / 3.0
    out = alasca_star_logits(main, acs, combine="probs")
    torch.testing.assert_close(out.exp(), torch.tensor([[p0, 1.0 - p0]]))
