"""Metrics shared across papers."""

from __future__ import annotations

import torch


def active_neuron_counts(preactivations: torch.Tensor) -> torch.Tensor:
    """A_N(x) of seed 003, Definition 1: the number of hidden units with w_i . x + b_i > 0 (strictly).

    preactivations: (..., B, H) -> counts (..., B).
    """
    return (preactivations > 0).sum(-1)


def typical_active_neurons(preactivations: torch.Tensor) -> torch.Tensor:
    """E_x A_N(x) with x uniform over the given inputs: the mean of `active_neuron_counts` over B."""
    return active_neuron_counts(preactivations).to(torch.float64).mean(-1)


def binary_error(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Classification error of sign(N(x)) against labels in {-1, +1}; N(x) = 0 counts as -1."""
    predictions = torch.where(outputs > 0, 1.0, -1.0)
    return (predictions != labels).to(torch.float64).mean(-1)


def logistic_loss(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean log(1 + exp(-y N(x))) over the last axis (binary cross-entropy on +-1 labels)."""
    return torch.nn.functional.softplus(-labels * outputs).to(torch.float64).mean(-1)


def classification_error(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 error of (N, C) logits against integer labels."""
    return (logits.argmax(-1) != labels).to(torch.float64).mean().item()
