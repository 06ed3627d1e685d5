"""HAR baseline of ALASCA's Table 3: heteroskedastic adaptive (Jacobian) regularisation.

Cao, Chen, Lu, Arechiga, Gaidon & Ma, "Heteroskedastic and Imbalanced Deep Learning with Adaptive
Regularization", ICLR 2021. The method, as ALASCA describes it (Sections 3 and 4.3) and as we implement
it (the HAR paper itself could not be read here beyond its abstract; details below are our reading and are
recorded in docs/decisions.md):

* Regulariser: the Lipschitz penalty of ALASCA's Definition 3.3 applied to intermediate layers — for
  each sample, Σ_l ‖J_l(x)‖²_F with J_l = ∂f(x)/∂h_l(x) the Jacobian of the logits with respect to the
  output h_l of residual stage l. ‖J‖²_F is estimated without forming J, by one random projection per
  sample and step: with v ~ N(0, I_L), E‖vᵀJ‖² = ‖J‖²_F, and vᵀJ is one backward pass. The penalty is
  differentiated again (double back-propagation), which is HAR's extra cost.
* Adaptive strength: two stages. Stage 1 trains with plain CE; its model gives each training sample an
  uncertainty u_i = 1 − p(ỹ_i | x_i) (the probability of the given, possibly noisy, label). Stage 2 trains a
  fresh network on CE + λ·mean_i τ_i·R_i with τ_i ∝ u_i^{3/5} (ALASCA's Remark 3.1: the optimal
  regularisation strength grows as the 3/5-th power of the label uncertainty), normalised to mean 1 so
  that λ alone sets the overall strength. HAR's density factor is left out: CIFAR-10 is class-balanced.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def jacobian_penalty(
    features: Sequence[torch.Tensor], logits: torch.Tensor, projection: torch.Tensor
) -> torch.Tensor:
    """Per-sample Σ_l ‖vᵢᵀ ∂f(xᵢ)/∂h_l(xᵢ)‖², shape (B,), differentiable (create_graph) for the penalty.

    `features` are the intermediate outputs h_l the logits were computed from; `projection` (B, L) holds
    one random vector vᵢ per sample (N(0, I) for an unbiased estimate of ‖J_l‖²_F). Samples interact only
    through batch-norm statistics, whose cross-sample terms this per-sample reading ignores.
    """
    if projection.shape != logits.shape:
        raise ValueError(f"projection shape {tuple(projection.shape)} != logits {tuple(logits.shape)}")
    grads = torch.autograd.grad(
        (logits * projection.to(logits.dtype)).sum(), list(features), create_graph=True
    )
    penalty = torch.zeros(logits.shape[0], dtype=torch.float32, device=logits.device)
    for g in grads:
        penalty = penalty + g.float().pow(2).flatten(1).sum(dim=1)
    return penalty


def label_uncertainty(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """u_i = 1 − p(ỹ_i | x_i): stage 1's uncertainty of the given label, shape (B,)."""
    return 1.0 - probs.gather(1, y.view(-1, 1)).squeeze(1)


def adaptive_strengths(uncertainty: torch.Tensor, power: float = 0.6, eps: float = 1e-12) -> torch.Tensor:
    """τ_i = u_i^power / mean_j u_j^power (mean 1); all ones when every u_i is 0 (nothing to adapt to)."""
    if power < 0:
        raise ValueError(f"power must be >= 0, got {power}")
    tau = uncertainty.clamp(min=0.0).pow(power)
    mean = tau.mean()
    if mean <= eps:
        return torch.ones_like(tau)
    return tau / mean


def gaussian_projection(
    shape: torch.Size | Sequence[int], generator: torch.Generator, device: torch.device | str
) -> torch.Tensor:
    """One standard-normal projection per sample for the penalty's estimator, drawn from the (CPU)
    `generator` and moved to `device`, so the draws do not depend on the device."""
    return torch.randn(shape, generator=generator).to(device)


def har_loss(
    logits: torch.Tensor,
    y: torch.Tensor,
    features: Sequence[torch.Tensor],
    strengths: torch.Tensor,
    projection: torch.Tensor,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stage-2 objective mean_i [CE_i + λ τ_i R_i]; returns (loss, mean penalty R for logging)."""
    ce = torch.nn.functional.cross_entropy(logits, y)
    penalty = jacobian_penalty(features, logits, projection)
    return ce + lam * (strengths.to(penalty.dtype) * penalty).mean(), penalty.detach().mean()
