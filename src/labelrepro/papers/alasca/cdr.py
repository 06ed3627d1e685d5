"""CDR baseline of ALASCA's Table 3: robust early-learning (Xia et al., ICLR 2021).

Xia, Liu, Han, Gong, Wang, Ge & Chang, "Robust early-learning: Hindering the memorization of noisy
labels", ICLR 2021 (the method ALASCA calls CDR). Its abstract (read here) states the idea: in each
iteration the parameters are split into *critical* ones, which fit the clean labels and generalise, and
*non-critical* ones, which tend to fit noisy labels, and the two get different update rules. The
details below come from our knowledge of the paper (its body could not be read here) and are recorded in
docs/decisions.md:

* Criticality of a weight w is the first-order estimate of how much the loss would change if w were
  removed, |w · ∂L/∂w| (computed on the current minibatch).
* In every weight tensor of a convolution or linear layer, the ⌈(1 − τ)·n⌉ weights with the largest score
  are critical; τ (the "clip rate") is the noise rate. Biases and batch-norm parameters are always
  treated as critical (they are not what memorises individual samples and are not pruned by the method).
* Critical weights take the ordinary SGD step (gradient + weight decay); non-critical weights get their
  loss gradient zeroed, so only weight decay acts on them and pulls them towards zero.

Applied between `loss.backward()` and `optimizer.step()`: `mask_noncritical_gradients_(model, τ)`.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def critical_mask(weight: torch.Tensor, grad: torch.Tensor, clip_rate: float) -> torch.Tensor:
    """Boolean mask of the ⌈(1 − clip_rate)·n⌉ entries with the largest |w · g| (ties: lowest index)."""
    if not 0.0 <= clip_rate < 1.0:
        raise ValueError(f"clip_rate must be in [0, 1), got {clip_rate}")
    n = weight.numel()
    keep = min(n, math.ceil((1.0 - clip_rate) * n))
    score = (weight.detach() * grad.detach()).abs().flatten()
    mask = torch.zeros(n, dtype=torch.bool, device=weight.device)
    mask[torch.topk(score.float(), keep, sorted=False).indices] = True
    return mask.view_as(weight)


@torch.no_grad()
def mask_noncritical_gradients_(model: nn.Module, clip_rate: float) -> float:
    """Zero the loss gradient of the non-critical weights of every Conv2d/Linear weight in `model`.

    Returns the fraction of those weights that were masked (≈ clip_rate), for logging.
    """
    masked = total = 0
    for module in model.modules():
        if not isinstance(module, nn.Conv2d | nn.Linear) or module.weight.grad is None:
            continue
        weight = module.weight
        mask = critical_mask(weight, weight.grad, clip_rate)
        weight.grad.mul_(mask.to(weight.grad.dtype))
        masked += int((~mask).sum())
        total += mask.numel()
    return masked / total if total else 0.0
