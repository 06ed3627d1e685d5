"""ALASCA (seed 002) choices taken from the official code (jongwooko/ALASCA): the strength of ALS per
form (optimal label probability), the 30-epoch smoothing warm-up and the MLP auxiliary classifier."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from labelrepro.core.config import ConfigError, settings_from_dict
from labelrepro.models.resnet_cifar import resnet34_cifar
from labelrepro.papers.alasca.auxiliary import MlpAC, PooledMlpAC, ResNetWithACs, make_ac
from labelrepro.papers.alasca.losses import EmaConfidence, adaptive_label_smoothing_loss, smoothing_warmup
from labelrepro.papers.alasca.methods import METHODS
from labelrepro.papers.alasca.trainer import Settings, build_network

SYMM50 = {"model": "symmetric", "rate": 0.5, "allow_true_class": True}
BASE = {"epochs": 1, "batch_size": 4, "lr": 0.1, "label_noise": SYMM50}


def make(**kw) -> Settings:
    return settings_from_dict(Settings, {**BASE, **kw}, "test")


# --------------------------------------------------------------------------------------------------
# ALS strength: optimal probability of the given label per form
# --------------------------------------------------------------------------------------------------


def _optimal_label_probability(form: str, alpha: float, num_classes: int) -> float:
    """argmin over logits of one sample's ALS loss (label 0), by L-BFGS in float64 from zero logits."""
    logits = torch.zeros(1, num_classes, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0])
    a = torch.tensor([alpha], dtype=torch.float64)
    opt = torch.optim.LBFGS([logits], lr=1.0, max_iter=500, tolerance_grad=1e-14, tolerance_change=1e-16,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = adaptive_label_smoothing_loss(logits, y, a, form=form)
        loss.backward()
        return loss

    opt.step(closure)
    return torch.softmax(logits.detach(), dim=1)[0, 0].item()


def test_optimal_label_probability_per_form_by_hand() -> None:
    """Clean sample, α̃ = 0.1, L = 10.

    eq2: Ω(f) = L·logsumexp(f) − Σ f = −Σ_i log p_i, so (1 − α̃)·CE + α̃·Ω = −log p_y − α̃·Σ_{i≠y} log p_i:
    CE against the unnormalised target (1, α̃, ..., α̃), minimised at p ∝ target:
    p_y = 1/(1 + (L − 1)·α̃) = 1/1.9 = 0.526.
    ls_official: CE against (1 − α̃, α̃/(L − 1), ...), minimised at p = target: p_y = 0.9.
    ls_paper: CE against (1 − α̃)·y + α̃/L: p_y = 1 − α̃ + α̃/L = 0.91.
    """
    alpha, num_classes = 0.1, 10
    expected = {
        "eq2": 1.0 / (1.0 + (num_classes - 1) * alpha),
        "ls_official": 1.0 - alpha,
        "ls_paper": 1.0 - alpha + alpha / num_classes,
    }
    got = {form: _optimal_label_probability(form, alpha, num_classes) for form in expected}
    for form, value in expected.items():
        assert got[form] == pytest.approx(value, abs=1e-6), form
    assert round(got["eq2"], 2) == 0.53 and round(got["ls_official"], 2) == 0.90
    # Eq. 2's Ω weight α̃ is L times the label-smoothing identity's α̃/L (§3.1): equal to ls_paper
    # with Ω scaled by 1/L.
    f = torch.randn(3, num_classes, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    yy = torch.tensor([0, 4, 9])
    a = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    ce = F.cross_entropy(f, yy, reduction="none")
    omega = (adaptive_label_smoothing_loss(f, yy, a, form="eq2", reduction="none") - (1 - a) * ce) / a
    lsp = adaptive_label_smoothing_loss(f, yy, a, form="ls_paper", reduction="none")
    torch.testing.assert_close(lsp, (1 - a) * ce + a / num_classes * omega)


def test_default_form_is_the_official_one() -> None:
    assert make(method="alasca").als_form == "ls_official"
    with pytest.raises(ConfigError, match="als_warmup_epochs"):
        make(method="alasca", als_warmup_epochs=-1)


# --------------------------------------------------------------------------------------------------
# Smoothing warm-up (losses/ALASCA.py: α ← min(1, e/30)·α + (1 − min(1, e/30)), α the confidence)
# --------------------------------------------------------------------------------------------------


def test_smoothing_warmup_factor() -> None:
    assert [smoothing_warmup(e, 30) for e in (0, 15, 29, 30, 119)] == [0.0, 0.5, 29 / 30, 1.0, 1.0]
    assert smoothing_warmup(None, 30) == 1.0 and smoothing_warmup(0, 0) == 1.0


MAIN = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
AC = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
Y = torch.tensor([0, 1])
IDX = torch.tensor([0, 1])


def _run(settings: Settings, epoch: int) -> SimpleNamespace:
    """What `Method.loss` reads from the trainer's AlascaRun: settings, EMA and the 0-based epoch."""
    ema = EmaConfidence(2, 3, settings.beta, settings.tau)
    return SimpleNamespace(settings=settings, ema=ema, position=epoch)


def _official_ac_loss(alpha: torch.Tensor) -> torch.Tensor:
    onehot = F.one_hot(Y, 3)
    target = (1 - alpha)[:, None] * onehot + (alpha / 2)[:, None] * (1 - onehot)
    return -(target * F.log_softmax(AC, 1)).sum(1).mean()


@pytest.mark.parametrize("name", ["als", "als_ac", "als_ema", "alasca"])
def test_warmup_scales_the_smoothing_factor_by_epoch(name: str) -> None:
    method = METHODS[name]
    settings = make(method=name, lam=2.0)  # als_warmup_epochs = 30 by default
    full = {e: method.loss(_run(settings, e), MAIN, [AC], [], Y, IDX)[1] for e in (0, 15, 30, 45)}
    assert torch.equal(full[0], torch.zeros(2))  # epoch 0: no smoothing at all
    torch.testing.assert_close(full[15], 0.5 * full[30])
    torch.testing.assert_close(full[45], full[30])
    assert bool((full[30] > 0).all())
    # No warm-up: epoch 0 already fully adaptive.
    no_ramp = make(method=name, lam=2.0, als_warmup_epochs=0)
    torch.testing.assert_close(method.loss(_run(no_ramp, 0), MAIN, [AC], [], Y, IDX)[1], full[30])


def test_warmup_epoch_zero_is_plain_cross_entropy_on_the_acs() -> None:
    settings = make(method="alasca", lam=2.0)
    ce_main = F.cross_entropy(MAIN, Y)
    loss0, _, _ = METHODS["alasca"].loss(_run(settings, 0), MAIN, [AC], [], Y, IDX)
    assert loss0.item() == pytest.approx(ce_main.item() + 2.0 * F.cross_entropy(AC, Y).item())
    # Epoch 15: the official target with half the smoothing factor.
    loss15, alpha15, _ = METHODS["alasca"].loss(_run(settings, 15), MAIN, [AC], [], Y, IDX)
    t = 0.3 * MAIN  # first visit of the EMA: (1 − β)·f; α̃ = 1 − S(t/τ)_y
    expected_alpha = 0.5 * (1 - torch.softmax(t * 3, 1)[torch.arange(2), Y])
    torch.testing.assert_close(alpha15, expected_alpha)
    assert loss15.item() == pytest.approx(ce_main.item() + 2.0 * _official_ac_loss(expected_alpha).item(),
                                          rel=1e-5)


def test_uls_rows_have_no_warmup() -> None:
    settings = make(method="uls_ac", lam=2.0, uls_alpha=0.3)
    at0 = METHODS["uls_ac"].loss(_run(settings, 0), MAIN, [AC], [], Y, IDX)[0]
    at50 = METHODS["uls_ac"].loss(_run(settings, 50), MAIN, [AC], [], Y, IDX)[0]
    assert at0.item() == at50.item()


# --------------------------------------------------------------------------------------------------
# MLP auxiliary classifier (official SDResNet_mlp: 1×1 conv → 512 + BN + ReLU at full resolution, pool, fc)
# --------------------------------------------------------------------------------------------------


def test_mlp_ac_parameter_counts_by_hand() -> None:
    """Base width 64, 10 classes; AC after stage k with C_k = 64, 128, 256 channels:
    1×1 conv C_k·512 (no bias) + BN 2·512 + linear 512·10 + 10.
    pos 1: 32768 + 1024 + 5130 = 38922; pos 2: 65536 + 1024 + 5130 = 71690;
    pos 3: 131072 + 1024 + 5130 = 137226.
    Pooled-first option: Linear(C_k, 512) with bias + linear: 33280 + 5130 = 38410; 71178; 136714."""
    expected = {1: 38922, 2: 71690, 3: 137226}
    expected_pooled = {1: 38410, 2: 71178, 3: 136714}
    for position, in_ch in ((1, 64), (2, 128), (3, 256)):
        ac = make_ac("mlp", in_ch, 10, position, base_width=64)
        assert isinstance(ac, MlpAC)
        assert sum(p.numel() for p in ac.parameters()) == expected[position]
        pooled = make_ac("mlp", in_ch, 10, position, base_width=64, mlp_pool="before")
        assert isinstance(pooled, PooledMlpAC)
        assert sum(p.numel() for p in pooled.parameters()) == expected_pooled[position]
    with pytest.raises(ValueError, match="mlp_pool"):
        make_ac("mlp", 64, 10, 1, mlp_pool="middle")  # type: ignore[arg-type]


def test_mlp_ac_works_at_full_resolution() -> None:
    """The hidden layer runs on every pixel (512 × 32 × 32 after stage 1), pooling comes after it."""
    ac = make_ac("mlp", 64, 10, 1, base_width=64)
    h = torch.randn(2, 64, 32, 32, generator=torch.Generator().manual_seed(1))
    assert ac.body(h).shape == (2, 512, 32, 32) and ac(h).shape == (2, 10)
    # Network wiring: the setting reaches the ACs; at base width 8 the hidden width is 64.
    net = build_network(make(method="alasca", ac_type="mlp", base_width=8), 10, seed=0)
    assert all(isinstance(a, MlpAC) and a.linear.in_features == 64 for a in net.acs)
    net = build_network(make(method="alasca", ac_type="mlp", base_width=8, mlp_ac_pool="before"), 10, seed=0)
    assert all(isinstance(a, PooledMlpAC) for a in net.acs)
    backbone = resnet34_cifar(10, generator=torch.Generator().manual_seed(0), base_width=8)
    with_acs = ResNetWithACs(backbone, "mlp", (3,), torch.Generator().manual_seed(0))
    main, acs = with_acs(torch.randn(2, 3, 32, 32))
    assert main.shape == (2, 10) and len(acs) == 1 and acs[0].shape == (2, 10)
