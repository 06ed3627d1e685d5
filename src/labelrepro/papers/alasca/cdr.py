"""CDR baseline of ALASCA's Table 3: robust early-learning (Xia et al., ICLR 2021).

Xia, Liu, Han, Gong, Wang, Ge & Chang, "Robust early-learning: Hindering the memorization of noisy
labels", ICLR 2021 (the method ALASCA calls CDR). Its abstract: in each iteration the parameters are split
into *critical* ones, which fit the clean labels, and *non-critical* ones, which tend to fit noisy labels,
and the two get different update rules. ALASCA's Table 3 says it ran the official code; the rule below is
re-implemented from that code (github.com/xiaoboxia/CDR, `main.py`, read at commit 6665a8b:
`train_one_step`, lines 257-287, and `train`, lines 290-311):

* After `loss.backward()`, every parameter with 2 or 4 dimensions (linear and conv weights; biases and
  batch-norm parameters are 1-D and untouched) is scored by |w · ∂L/∂w| on the current minibatch.
* The scores of **all** those parameters are ranked together: nz = int((1 − τ)·n) (n = their total size),
  the threshold is the nz-th largest score, and an entry is critical when its score ≥ threshold (ties at
  the threshold are all kept).
* Every such gradient is multiplied by mask · (1 − τ): critical entries keep (1 − τ)·g, non-critical ones
  get 0. `optimizer.step()` (SGD, momentum 0.9, weight_decay 1e-3) then adds weight decay to the *masked*
  gradient, so non-critical weights move only by weight decay (and their momentum buffer), and the
  weight-decay term of critical ones is not rescaled.
* τ is the noise rate: `clip = 1 − noise_rate` is passed as both the kept fraction and the factor (the
  `clip_narry` ramp over `num_gradual` epochs is computed but overwritten, so it is not used).

`ranking="per_tensor"` (our earlier reading: ⌈(1 − τ)·n⌉ kept per tensor) and `rescale=False` are kept as
options. Applied between `loss.backward()` and `optimizer.step()`. Nothing here synchronises with the host:
the masked fraction comes back as a device tensor.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

Ranking = Literal["global", "per_tensor"]


def _check(clip_rate: float) -> None:
    if not 0.0 <= clip_rate < 1.0:
        raise ValueError(f"clip_rate must be in [0, 1), got {clip_rate}")


def ranked_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters CDR ranks: those with 2 or 4 dimensions that have a gradient."""
    return [p for p in model.parameters() if p.dim() in (2, 4) and p.grad is not None]


def _scores(p: torch.Tensor) -> torch.Tensor:
    assert p.grad is not None
    return (p.detach() * p.grad.detach()).abs().flatten().float()


def global_threshold(params: list[nn.Parameter], clip_rate: float) -> torch.Tensor:
    """The nz-th largest |w·g| over all `params` together, nz = int((1 − clip_rate)·n) (at least 1)."""
    _check(clip_rate)
    scores = torch.cat([_scores(p) for p in params])
    keep = max(1, int((1.0 - clip_rate) * scores.numel()))
    return torch.topk(scores, keep, sorted=False).values.min()


def critical_mask(weight: torch.Tensor, grad: torch.Tensor, clip_rate: float) -> torch.Tensor:
    """Per-tensor variant: boolean mask of the ⌈(1 − clip_rate)·n⌉ entries with the largest |w · g|."""
    _check(clip_rate)
    n = weight.numel()
    keep = min(n, math.ceil((1.0 - clip_rate) * n))
    score = (weight.detach() * grad.detach()).abs().flatten()
    mask = torch.zeros(n, dtype=torch.bool, device=weight.device)
    mask[torch.topk(score.float(), keep, sorted=False).indices] = True
    return mask.view_as(weight)


@torch.no_grad()
def mask_noncritical_gradients_(
    model: nn.Module, clip_rate: float, ranking: Ranking = "global", rescale: bool = True
) -> torch.Tensor:
    """Zero the gradients of the non-critical 2-D/4-D parameters of `model` and (with `rescale`) multiply
    the critical ones by (1 − clip_rate). Returns the masked fraction of those entries (a 0-dim device
    tensor, ≈ clip_rate)."""
    _check(clip_rate)
    if ranking not in ("global", "per_tensor"):
        raise ValueError(f"ranking must be 'global' or 'per_tensor', got {ranking!r}")
    params = ranked_parameters(model)
    if not params:
        return torch.zeros((), dtype=torch.float64)
    masked = torch.zeros((), dtype=torch.float64, device=params[0].device)
    total = 0
    threshold = global_threshold(params, clip_rate) if ranking == "global" else None
    factor = (1.0 - clip_rate) if rescale else 1.0
    for p in params:
        assert p.grad is not None
        if threshold is not None:
            mask = (p.detach() * p.grad).abs().float() >= threshold
        else:
            mask = critical_mask(p, p.grad, clip_rate)
        p.grad.mul_(mask.to(p.grad.dtype) * factor)
        masked += (~mask).sum()
        total += mask.numel()
    return masked / total
