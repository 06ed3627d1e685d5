"""The five losses of seed 004's comparison, per sample, from logits.

All functions take logits of shape (..., C), integer labels of shape (...) and a strength that is a
float or a tensor broadcastable to the labels' shape (one value per run when R networks are trained
side by side), and return the per-sample loss of shape (...). Everything is computed from
`log_softmax`/`logsumexp`, never from a clipped softmax, so large logits neither overflow nor lose
the small probabilities that label relaxation and the focal loss depend on.

- `label_relaxation`: Eq. (5) / Proposition 2 with the KL divergence,
  L*(Q^α, p̂) = 0 if p̂_y ≥ 1 − α, else (1 − α)·log((1 − α)/p̂_y) + α·log(α/(1 − p̂_y)).
  log(1 − p̂_y) is logsumexp of the other classes' logits minus logsumexp of all (exact even when
  p̂_y rounds to 1). Its gradient in the logits is p̂ − p^r with the projection
  p^r = (1 − α)·e_y + α·p̂_{≠y}/(1 − p̂_y) held constant, which is what the authors' PyTorch port
  computes by detaching p^r (tests/test_relaxation_losses.py checks both).
- `label_smoothing`: the shared `losses.label_smoothing` in the "uniform" convention
  ((1 − α)·onehot + α/C, Keras' `CategoricalCrossentropy(label_smoothing=α)`, which the authors use).
- `confidence_penalty`: CE − β·H(p̂) (Pereyra et al. 2017; the authors' Keras loss).
- `focal_loss`: −(1 − p̂_y)^γ·log p̂_y (Lin et al. 2017; the authors' Keras loss with one-hot targets).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from labelrepro.losses.label_smoothing import label_smoothing_cross_entropy


def _strength(value: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The strength as a detached tensor on `like`'s device and dtype, broadcastable to `like`."""
    return torch.as_tensor(value, dtype=like.dtype, device=like.device).detach()


def true_class_log_probs(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p̂_y, log(1 − p̂_y)) per sample, both from logsumexps (stable for any logits)."""
    total = torch.logsumexp(logits, dim=-1)
    true_logit = logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    others = logits.scatter(-1, labels.unsqueeze(-1), float("-inf"))
    return true_logit - total, torch.logsumexp(others, dim=-1) - total


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor,
                  strength: float | torch.Tensor = 0.0) -> torch.Tensor:
    """−log p̂_y; `strength` is accepted (and ignored) so that every loss has one signature."""
    del strength
    return -true_class_log_probs(logits, labels)[0]


def label_relaxation(logits: torch.Tensor, labels: torch.Tensor, alpha: float | torch.Tensor) -> torch.Tensor:
    """L*(Q^α, p̂) of Eq. (5) with the KL divergence; zero (with zero gradient) inside Q^α."""
    a = _strength(alpha, logits)
    if bool(((a <= 0) | (a >= 1)).any()):
        raise ValueError(f"label relaxation needs 0 < alpha < 1, got {a.flatten().tolist()}")
    log_py, log_rest = true_class_log_probs(logits, labels)
    # >= 0 mathematically (Gibbs); the clamp removes rounding below zero right at the border
    outside = ((1 - a) * (torch.log(1 - a) - log_py) + a * (torch.log(a) - log_rest)).clamp_min(0)
    inside = log_py >= torch.log(1 - a)
    return torch.where(inside, torch.zeros_like(outside), outside)


def relaxation_projection(probs: torch.Tensor, labels: torch.Tensor, alpha: float) -> torch.Tensor:
    """p^r of Proposition 1: p̂ itself inside Q^α, else 1 − α on y and α·p̂_{y'}/(1 − p̂_y) elsewhere."""
    onehot = F.one_hot(labels, probs.shape[-1]).to(probs.dtype)
    py = (probs * onehot).sum(-1, keepdim=True)
    rest = probs * (1 - onehot)
    projected = (1 - alpha) * onehot + alpha * rest / rest.sum(-1, keepdim=True)
    return torch.where(py >= 1 - alpha, probs, projected)


def label_smoothing(logits: torch.Tensor, labels: torch.Tensor, alpha: float | torch.Tensor) -> torch.Tensor:
    """CE against (1 − α)·onehot + α/C (shared implementation, per-sample strength)."""
    classes = logits.shape[-1]
    eps = _strength(alpha, logits).expand(labels.shape).reshape(-1)
    loss = label_smoothing_cross_entropy(
        logits.reshape(-1, classes), labels.reshape(-1), eps, convention="uniform", reduction="none"
    )
    return loss.reshape(labels.shape)


def confidence_penalty(logits: torch.Tensor, labels: torch.Tensor,
                       beta: float | torch.Tensor) -> torch.Tensor:
    """−log p̂_y − β·H(p̂), H the entropy of the softmax."""
    log_p = F.log_softmax(logits, dim=-1)
    entropy = -(log_p.exp() * log_p).sum(-1)
    return -log_p.gather(-1, labels.unsqueeze(-1)).squeeze(-1) - _strength(beta, logits) * entropy


def focal_loss(logits: torch.Tensor, labels: torch.Tensor, gamma: float | torch.Tensor) -> torch.Tensor:
    """−(1 − p̂_y)^γ·log p̂_y, with 1 − p̂_y = exp(log(1 − p̂_y)) (no cancellation near p̂_y = 1)."""
    log_py, log_rest = true_class_log_probs(logits, labels)
    return -torch.exp(_strength(gamma, logits) * log_rest) * log_py


LOSSES = {
    "ce": cross_entropy,
    "ls": label_smoothing,
    "cp": confidence_penalty,
    "fl": focal_loss,
    "lr": label_relaxation,
}


def per_sample_loss(name: str, logits: torch.Tensor, labels: torch.Tensor,
                    strength: float | torch.Tensor) -> torch.Tensor:
    """The loss `name` (a key of LOSSES) per sample."""
    try:
        fn = LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; use one of {sorted(LOSSES)}") from None
    return fn(logits, labels, strength)


def kl_divergence(target: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """D_KL(target ‖ probs) over the last axis, with 0·log 0 = 0 (for tests and the figure)."""
    ratio = torch.where(target > 0, target * (torch.log(target) - torch.log(probs)), torch.zeros_like(target))
    return ratio.sum(-1)

