"""Label smoothing, in the two conventions the five papers use, for scalar or per-sample strengths.

Each paper writes "label smoothing with strength ε" but means one of two targets:

- ``"uniform"`` — (1 − ε)·onehot + ε/L on every class, so the label gets 1 − ε + ε/L (Szegedy et al.;
  PyTorch's ``label_smoothing``; seed 003 §6.4, seed 004, seed 002 §2.2 as printed).
- ``"others"`` — 1 − ε on the label and ε/(L − 1) on each other class (seed 000 A.4 Eq. 2; seed 002's
  official code for its LS baseline and its auxiliary-classifier target).

The strength may be a tensor of one value per sample (ALASCA's adaptive smoothing); it is detached, so it
acts as a weight and never as a gradient path.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

Convention = Literal["uniform", "others"]
CONVENTIONS: tuple[str, ...] = ("uniform", "others")


def _strength_column(eps: float | torch.Tensor, rows: int, like: torch.Tensor) -> torch.Tensor:
    """ε as a detached (B, 1) column on `like`'s device and dtype (a scalar is broadcast)."""
    e = torch.as_tensor(eps, dtype=like.dtype, device=like.device).detach()
    if e.ndim == 0:
        e = e.expand(rows)
    if e.shape != (rows,):
        raise ValueError(f"smoothing strength must be a scalar or have shape ({rows},), got {tuple(e.shape)}")
    return e.reshape(-1, 1)


def smoothed_targets(
    labels: torch.Tensor, num_classes: int, eps: float | torch.Tensor, convention: Convention
) -> torch.Tensor:
    """Target rows (B, L) for integer `labels` (B,), smoothing strength `eps` under `convention`."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown label-smoothing convention {convention!r}; use one of {CONVENTIONS}")
    onehot = F.one_hot(labels, num_classes).to(torch.get_default_dtype())
    e = _strength_column(eps, labels.shape[0], onehot)
    if convention == "uniform":
        return (1.0 - e) * onehot + e / num_classes
    if num_classes < 2:
        raise ValueError("the 'others' label-smoothing convention needs at least 2 classes")
    return (1.0 - e) * onehot + e / (num_classes - 1) * (1.0 - onehot)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample −Σ_i t_i log softmax(f)_i for target rows t (B, L), shape (B,)."""
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1)


def label_smoothing_cross_entropy(
    logits: torch.Tensor,
    labels: torch.Tensor,
    eps: float | torch.Tensor,
    convention: Convention,
    reduction: Literal["mean", "sum", "none"] = "mean",
) -> torch.Tensor:
    """Cross-entropy of `logits` (B, L) against the smoothed targets of `labels`; ε = 0 is plain CE."""
    targets = smoothed_targets(labels, logits.shape[1], eps, convention).to(logits.dtype)
    loss = soft_cross_entropy(logits, targets)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    raise ValueError(f"unknown reduction {reduction!r}")
