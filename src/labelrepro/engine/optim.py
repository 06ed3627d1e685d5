"""Optimisers and per-step learning-rate schedules of the image trainers (settings: `OptimSettings`)."""

from __future__ import annotations

import math
from typing import Any

import torch


def build_optimizer(settings: Any, params: Any) -> torch.optim.Optimizer:
    if settings.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=settings.lr,
            momentum=settings.momentum,
            nesterov=settings.nesterov,
            weight_decay=settings.weight_decay,
        )
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=settings.lr, weight_decay=settings.weight_decay)
    raise ValueError(f"unknown optimizer '{settings.optimizer}': use sgd or adam")


def lr_factor(settings: Any, step: int, steps_per_epoch: int) -> float:
    """Learning-rate multiplier at optimiser step `step` (per-step, so short runs schedule smoothly)."""
    total = settings.epochs * steps_per_epoch
    warmup = int(settings.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return (step + 1) / warmup
    if settings.schedule == "constant":
        return 1.0
    if settings.schedule == "cosine":
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    if settings.schedule == "multistep":
        epoch = step // steps_per_epoch
        return settings.gamma ** sum(epoch >= m for m in settings.milestones)
    raise ValueError(f"unknown schedule '{settings.schedule}': use cosine, constant or multistep")


def build_scheduler(
    settings: Any, optimizer: torch.optim.Optimizer, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(settings, step, steps_per_epoch)
    )
