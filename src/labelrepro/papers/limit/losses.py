"""LIMIT (Harutyunyan, Reing, Ver Steeg, Galstyan, ICML 2020) and the baselines of its Tables 4-7.

Notation (paper §3, supplement Algorithm 1): a = classifier logits, s(.) = softmax, y = one-hot label,
g^L = s(a) - y is the cross-entropy gradient w.r.t. the logits, b = logits of the gradient predictor q,
mu = s(a) - s(b) is q's predicted (mean) gradient.

Sources used for every definition are named in the docstrings: the supplement (seed 001), the official
code facts (shared/OFFICIAL_CODE_FACTS.md, hrayrhar/limit-label-memorization v0.1) and the baseline papers
(Ghosh et al. 2017 MAE, Patrini et al. 2017 FW, Xu et al. 2019 DMI).

Reductions follow the official code: per-example quantities are summed over classes and averaged over the
batch, except the LIMIT classifier surrogate, whose logit gradient is the predicted gradient per example
(i.e. summed, not averaged, over the batch).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F

NoiseKind = Literal["gaussian", "laplace"]

#: Plain cross-entropy on logits (CE, and the loss that CE + GN/LN perturb).
cross_entropy = F.cross_entropy


def _one_hot(y: torch.Tensor, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    return F.one_hot(y.long(), num_classes).to(dtype=like.dtype, device=like.device)


def ce_logit_gradient(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example CE gradient w.r.t. logits, g^L = s(a) - y (Algorithm 1, line 'Compute the CE gradient').

    Detached: it is a regression target for q, never a path for the classifier's gradient.
    """
    logits = logits.detach()
    return torch.softmax(logits, dim=1) - _one_hot(y, logits.shape[1], logits)


# --------------------------------------------------------------------------------------------------
# Baselines: MAE, FW, DMI
# --------------------------------------------------------------------------------------------------


def mae_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MAE of Ghosh et al. (2017): mean_i ||s(a_i) - e_{y_i}||_1 = mean_i (2 - 2 p_{i,y_i}).

    Scale: the L1 distance summed over classes (range [0, 2]), as in the official LIMIT code (losses.mae);
    the gradient is therefore twice that of the '1 - p_y' reading. Adam is scale invariant up to eps.
    """
    p = torch.softmax(logits, dim=1)
    return (p - _one_hot(y, logits.shape[1], logits)).abs().sum(dim=1).mean()


def forward_corrected_ce(
    logits: torch.Tensor, y: torch.Tensor, T: torch.Tensor, eps: float = 1e-10
) -> torch.Tensor:
    """Forward correction (Patrini et al. 2017, Thm. 2): CE of s(a) T against the noisy label.

    T[i, j] = P(noisy = j | clean = i), so row vector s(a) T is the predicted noisy-label distribution.
    Probabilities are clamped to [eps, 1 - eps] before the product, as in the official code.
    """
    p = torch.softmax(logits, dim=1).clamp(eps, 1.0 - eps)
    noisy = p @ T.to(dtype=p.dtype, device=p.device)
    return -torch.log(noisy.gather(1, y.long().view(-1, 1)).squeeze(1)).mean()


def estimate_transition_matrix(
    probs: torch.Tensor, quantile: float = 0.97, filter_outlier: bool = True, row_normalize: bool = True
) -> torch.Tensor:
    """Patrini et al. (2017) anchor-point estimator of T from a trained (CE) model's softmax outputs.

    For each class i, the anchor is the example with the largest p_i after discarding those with
    p_i >= the ``quantile`` quantile of column i (their 'filter_outlier' = True, 97th percentile with the
    'higher' interpolation, as the official LIMIT code does); row i of T is that example's probability
    vector, rows then normalised to sum to 1 (official LIMIT code). Unlike the reference implementations,
    the input is never modified in place (theirs zeroes filtered entries of the shared array, which can
    leak into later rows).
    """
    probs = probs.detach().to(torch.float64)
    c = probs.shape[1]
    T = torch.empty(c, c, dtype=torch.float64)
    for i in range(c):
        col = probs[:, i]
        if filter_outlier:
            # 'higher' interpolation: the smallest sorted value at or above the quantile position.
            thresh = torch.quantile(col, quantile, interpolation="higher")
            masked = torch.where(col >= thresh, torch.zeros_like(col), col)
            idx = int(torch.argmax(masked))
        else:
            idx = int(torch.argmax(col))
        T[i] = probs[idx]
    if row_normalize:
        T = T / T.sum(dim=1, keepdim=True)
    return T.to(torch.float32)


def dmi_loss(
    logits: torch.Tensor, y: torch.Tensor, num_classes: int, eps: float = 1e-3, normalize: bool = False
) -> torch.Tensor:
    """L_DMI of Xu et al. (2019): -log(|det(U)| + eps), U = O^T Y (C x C) on the batch.

    O = softmax outputs (N x C), Y = one-hot labels (N x C). The paper writes U = (1/N) O^T Y; the
    official code of both Xu et al. and LIMIT omits 1/N ("normalizing makes the determinant too small")
    and adds eps = 1e-3 to |det|. Without eps the two differ by the constant C log N only. Default:
    official (``normalize=False``); ``normalize=True`` gives the paper's U (then eps dominates for C = 10).
    """
    probs = torch.softmax(logits, dim=1)
    U = probs.t() @ _one_hot(y, num_classes, probs)
    if normalize:
        U = U / probs.shape[0]
    return -torch.log(torch.det(U).abs() + eps)


# --------------------------------------------------------------------------------------------------
# Noise on the logit gradient: CE+GN, CE+LN and LIMIT's +S sampling
# --------------------------------------------------------------------------------------------------


def sample_noise(
    shape: torch.Size | tuple[int, ...],
    sigma: float,
    kind: NoiseKind,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Zero-mean i.i.d. noise with standard deviation ``sigma``.

    Gaussian N(0, sigma^2); Laplace with scale b = sigma / sqrt(2), so its second moment is sigma^2
    (supplement A.2, last paragraph; official code uses Laplace(scale = sqrt(1/2) * std)). Laplace is drawn
    by inverse CDF from one uniform so that it uses the given generator.
    """
    gen_device = generator.device if generator is not None else device
    if kind == "gaussian":
        noise = torch.randn(shape, generator=generator, dtype=dtype, device=gen_device) * sigma
    elif kind == "laplace":
        u = torch.rand(shape, generator=generator, dtype=dtype, device=gen_device) - 0.5
        tail = (1.0 - 2.0 * u.abs()).clamp_min(torch.finfo(dtype).tiny)
        noise = -(sigma / math.sqrt(2.0)) * torch.sign(u) * torch.log(tail)
    else:
        raise ValueError(f"noise kind must be 'gaussian' or 'laplace', got {kind!r}")
    return noise.to(device) if device is not None else noise


def noisy_logit_gradient(
    grad: torch.Tensor, sigma: float, kind: NoiseKind, generator: torch.Generator | None = None
) -> torch.Tensor:
    """CE+GN / CE+LN: the logit gradient plus i.i.d. Gaussian / Laplace noise of std ``sigma``.

    Official code (StandardClassifier --add_noise, noise_std in {0.01, 0.03, 0.1, 0.3}) adds the noise in
    the backward pass to the gradient of the batch-mean CE w.r.t. the logits, i.e. to (s(a) - y) / B.
    """
    return grad + sample_noise(grad.shape, sigma, kind, generator, grad.dtype, grad.device)


class _LogitGradNoise(torch.autograd.Function):
    """Identity in the forward pass; adds noise to the incoming gradient in the backward pass."""

    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, sigma: float, kind: str, generator: Any) -> torch.Tensor:
        ctx.sigma, ctx.kind, ctx.generator = sigma, kind, generator
        return logits.view_as(logits)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        return noisy_logit_gradient(grad_output, ctx.sigma, ctx.kind, ctx.generator), None, None, None


def with_logit_gradient_noise(
    logits: torch.Tensor, sigma: float, kind: NoiseKind, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Wrap logits so that any loss computed on them back-propagates a noisy logit gradient (CE+GN/LN)."""
    return _LogitGradNoise.apply(logits, sigma, kind, generator)


# --------------------------------------------------------------------------------------------------
# Soft regularisation, Eq. 11
# --------------------------------------------------------------------------------------------------


def soft_regularization_loss(
    logits: torch.Tensor,
    features: torch.Tensor,
    q_logits: torch.Tensor,
    y: torch.Tensor,
    lam: float,
    beta: float,
) -> torch.Tensor:
    """Eq. 11 (penalise label information in the last-layer gradient), total objective on a batch:

        mean_i [ CE(a_i, y_i) + lam * ||z_i||^2 ||y_i - s(b_i)||^2 + beta * ||z_i||^2 ||s(a_i) - s(b_i)||^2 ]

    For a bias-free last layer the weight gradient is G_i = (s(a_i) - y_i) z_i^T and q predicts
    mu_i = (s(a_i) - s(b_i)) z_i^T, so ||G_i - mu_i||_F^2 = ||z_i||^2 ||y_i - s(b_i)||^2 (the Gaussian
    H(p, q) term, weight lam) and ||mu_i||_F^2 = ||z_i||^2 ||s(a_i) - s(b_i)||^2 (the norm penalty, weight
    beta). Nothing is detached, as in the official code (PenalizeLastLayerFixedForm): both the classifier
    (through z and a) and q are trained by this one objective. Supplement B: lam in
    {0.001, 0.01, 0.03, 0.1}, beta in {0, 0.01, 0.1, 1, 10}.
    """
    y1 = _one_hot(y, logits.shape[1], logits)
    z2 = (features.flatten(1) ** 2).sum(dim=1)
    q = torch.softmax(q_logits, dim=1)
    info = z2 * ((y1 - q) ** 2).sum(dim=1)
    norm = z2 * ((torch.softmax(logits, dim=1) - q) ** 2).sum(dim=1)
    return F.cross_entropy(logits, y.long()) + lam * info.mean() + beta * norm.mean()


# --------------------------------------------------------------------------------------------------
# LIMIT
# --------------------------------------------------------------------------------------------------


def predicted_gradient(classifier_logits: torch.Tensor, q_logits: torch.Tensor) -> torch.Tensor:
    """mu = s(a).detach() - s(b): q's predicted logit gradient (official code; paper §3.2).

    The classifier softmax is detached so that q's loss trains q only; gradients reach q through s(b).
    """
    return torch.softmax(classifier_logits.detach(), dim=1) - torch.softmax(q_logits, dim=1)


def sample_predicted_gradient(
    mean: torch.Tensor, sigma: float, kind: NoiseKind, generator: torch.Generator | None = None
) -> torch.Tensor:
    """LIMIT +S: g_t ~ q(. | x) = mean + noise of std ``sigma`` (Algorithm 1, 'if sampling ...').

    Returned detached: the sample only drives the classifier; q is trained on the mean (its loss).
    """
    mean = mean.detach()
    return mean + sample_noise(mean.shape, sigma, kind, generator, mean.dtype, mean.device)


def official_sampling_std(lamb: float, kind: NoiseKind) -> float:
    """Std of the +S noise implied by the official code's ``--lamb`` (the H(p, q) coefficient).

    Gaussian: sqrt(1 / (2 lamb)) (lamb in {5, 50, 500, 5000} gives ~{0.32, 0.1, 0.032, 0.01});
    Laplace: sqrt(2) / lamb, i.e. scale 1 / lamb (lamb in {5, 10, 30, 100} gives scale
    {0.2, 0.1, 0.033, 0.01}).
    """
    if kind == "gaussian":
        return math.sqrt(1.0 / 2.0 / (lamb + 1e-12))
    if kind == "laplace":
        return math.sqrt(2.0) / (lamb + 1e-6)
    raise ValueError(f"noise kind must be 'gaussian' or 'laplace', got {kind!r}")


def limit_classifier_surrogate(logits: torch.Tensor, predicted_grad: torch.Tensor) -> torch.Tensor:
    """Scalar sum_i <a_i, g_i> with g detached: its gradient w.r.t. a_i is exactly g_i.

    Back-propagating it from the logits replaces the CE logit gradient by the predicted one (Algorithm 1,
    'Starting with g_t, backpropagate'), per example, summed over the batch as the official
    GradReplacement does (it ignores the 1/B of the mean CE it is attached to).
    """
    return (logits * predicted_grad.detach()).sum()


def limit_predictor_loss(
    predicted: torch.Tensor, actual_grad: torch.Tensor, beta: float, kind: NoiseKind
) -> torch.Tensor:
    """q's loss: -log q(g^L | x) up to constants + beta ||mu||^2 (Algorithm 1, last line; lambda = 1).

    Gaussian q (LIMIT_G): mean_i ||mu_i - g^L_i||_2^2; Laplace q (LIMIT_L): mean_i ||mu_i - g^L_i||_1;
    plus beta * mean_i ||mu_i||_2^2. Supplement B: beta in {0, 0.1, 0.3, 1, 3, 10, 30, 100}.
    """
    diff = predicted - actual_grad.detach()
    if kind == "gaussian":
        fit = (diff**2).sum(dim=1).mean()
    elif kind == "laplace":
        fit = diff.abs().sum(dim=1).mean()
    else:
        raise ValueError(f"predictor kind must be 'gaussian' or 'laplace', got {kind!r}")
    return fit + beta * (predicted**2).sum(dim=1).mean()


# --------------------------------------------------------------------------------------------------
# Method registry for the trainer
# --------------------------------------------------------------------------------------------------
