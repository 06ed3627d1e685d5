"""ALASCA losses (Ko, Yi & Yun, "A Gift from Label Smoothing", seed 002): ULS, ALS, Ω, EMA confidence.

Notation follows the paper: L classes, logits f(x) ∈ R^L, S the softmax, ℓ the cross-entropy.

* Label smoothing, Section 2.2: y^LS = (1 − α)·y + (α/L)·1_L — the label keeps 1 − α + α/L (also the
  official code's LS baseline, `losses/distill.py` `LabelSmoothingLoss`). The official AC target
  (`losses/ALASCA.py` `NLLLoss`) instead puts 1 − α on the label and α/(L − 1) on every other class; both
  are available (``form="paper"`` (default) / ``form="official"``). They coincide after re-parametrising
  α_official = α_paper·(L − 1)/L.
* Ω(f), Eq. 1: Ω(f) = L·log Σ_i e^{f_i} − Σ_i f_i, the regulariser that LS adds to CE
  (ℓ(f, y^LS) = (1 − α)·ℓ(f, y) + (α/L)·Ω(f), since ℓ(f, 1_L) = Ω(f)). Ω ≥ L·log L, with equality
  iff all logits are equal.
* ALS, Eq. 2: ℓ^ALS_α̃(f, y) = (1 − α̃(x))·ℓ(f, y) + α̃(x)·Ω(f) with α̃(x) = 1 − S(f(x))_y, i.e. one minus
  the confidence in the given label (Algorithm 1 line 4 replaces f(x) by the sharpened EMA t_i/τ).
  Eq. 2 as printed weighs Ω by α̃, not α̃/L as the LS identity above would, so it is L× stronger:
  for a clean sample with α̃ = 0.1 and L = 10 the optimal probability of its label is 1/(1 + (L − 1)α̃)
  ≈ 0.53 under Eq. 2 (Ω = −Σ_i log S(f)_i, so Eq. 2 is CE against the unnormalised target 1 on y, α̃
  elsewhere) but 1 − α̃ = 0.90 under the official code. ``form="ls_official"`` (default) is CE against the
  official target (1 − α̃ on the label, α̃/(L − 1) elsewhere; `losses/ALASCA.py`, where the variable
  `alpha` is the confidence 1 − α̃), ``form="eq2"`` follows Eq. 2 literally and ``form="ls_paper"`` is CE
  against y^LS with per-sample α̃ (Ω weight α̃/L).
* Warm-up (official code, not in the paper): α̃ is multiplied by min(1, epoch / 30) for the 0-based
  epoch, i.e. the AC loss is plain CE in epoch 0 and fully adaptive from epoch 30 (`smoothing_warmup`).
* α̃ is a per-sample *weight*: it is detached everywhere, so no gradient flows through the confidence
  (the paper treats it as the smoothing factor of LS, a constant of the target).
* Algorithm 1 total loss: 𝓛(f_Θ0(x), y) + λ·Σ_k mean_i ℓ^ALS_α̃(x_i)(f_Θk(x_i), y_i), λ = 2. Line 5
  prints a leading minus sign before the base loss, which is a typo (the base loss is minimised, as in
  the official code); we add it.

Typical training step (Algorithm 1 lines 3–6)::

    main, acs = model(x)
    ema.update(idx, main)                       # line 3, before computing α̃ (uses this step's output)
    alpha = ema.smoothing_factor(idx, y)        # line 4: 1 − S(t_i/τ)_y
    loss = alasca_loss(main, acs, y, nn.functional.cross_entropy, alpha, lam=2.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F

from labelrepro.losses.label_smoothing import Convention, smoothed_targets, soft_cross_entropy

UlsForm = Literal["paper", "official"]
AlsForm = Literal["eq2", "ls_paper", "ls_official"]
DEFAULT_ALS_FORM: AlsForm = "ls_official"  # the official code's AC target
Reduction = Literal["mean", "sum", "none"]

cross_entropy = F.cross_entropy  # the base loss 𝓛 of the main head (Standard), for the method table


def _reduce(loss: torch.Tensor, reduction: Reduction) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"unknown reduction {reduction!r}")


def _alpha_column(alpha: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """α as a detached (B, 1) column (scalar α is broadcast), on `like`'s device and dtype."""
    a = torch.as_tensor(alpha, dtype=like.dtype, device=like.device).detach()
    if a.ndim == 0:
        a = a.expand(like.shape[0])
    return a.reshape(-1, 1)


def uniform_label_smoothing_targets(
    y: torch.Tensor, num_classes: int, alpha: float | torch.Tensor, form: UlsForm = "paper"
) -> torch.Tensor:
    """Smoothed target rows (B, L) for labels `y` and smoothing α (scalar or per-sample (B,)).

    ``"paper"`` (Section 2.2): (1 − α)·onehot + α/L on every class (shared convention ``"uniform"``).
    ``"official"`` (ALASCA code's LS baseline and AC target): 1 − α on the label, α/(L − 1) elsewhere
    (shared convention ``"others"``).
    """
    if form not in _CONVENTION_OF_FORM:
        raise ValueError(f"unknown label-smoothing form {form!r}")
    return smoothed_targets(y, num_classes, alpha, _CONVENTION_OF_FORM[form])


#: ALASCA's names for the two shared label-smoothing conventions (losses/label_smoothing.py).
_CONVENTION_OF_FORM: dict[str, Convention] = {"paper": "uniform", "official": "others"}


def uniform_label_smoothing_loss(
    logits: torch.Tensor,
    y: torch.Tensor,
    alpha: float,
    form: UlsForm = "paper",
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """ULS: cross-entropy against the uniformly smoothed target (the "ULS" row of Table 4)."""
    targets = uniform_label_smoothing_targets(y, logits.shape[1], alpha, form).to(logits.dtype)
    return _reduce(soft_cross_entropy(logits, targets), reduction)


def smoothing_regulariser(logits: torch.Tensor) -> torch.Tensor:
    """Per-sample Ω(f) = L·logsumexp(f) − Σ_i f_i (Eq. 1), shape (B,).

    Equals ℓ(f, 1_L), the cross-entropy against the all-ones vector; it is invariant to adding a constant
    to all logits and is minimised (= L·log L) when the logits are equal, e.g. at h = 0 (Theorem 3.5).
    """
    L = logits.shape[1]
    return L * torch.logsumexp(logits, dim=1) - logits.sum(dim=1)


def adaptive_smoothing_factor(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """α̃(x) = 1 − p_y(x): the y-th element of 1 − S(f(x)) (Eq. 2), detached, shape (B,).

    `probs` are class probabilities (rows of S(f(x)), or S(t/τ) for EMA confidence, Algorithm 1 line 4).
    Low confidence in the given label — typical of noisy labels (Figure 2a) — gives strong smoothing.
    """
    return (1.0 - probs.gather(1, y.view(-1, 1)).squeeze(1)).detach()


def instantaneous_smoothing_factor(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """α̃(x) = 1 − S(f(x))_y from this step's (detached) logits: the ALS and ALS + AC rows (Eq. 2)."""
    return adaptive_smoothing_factor(torch.softmax(logits.detach(), dim=1), y)


def smoothing_warmup(epoch: int | None, warmup_epochs: int) -> float:
    """The official code's ramp of the adaptive smoothing: min(1, epoch / warmup_epochs) for the 0-based
    epoch (constant within an epoch; it multiplies α̃). 1 when warmup_epochs = 0 or epoch is None."""
    if epoch is None or warmup_epochs <= 0:
        return 1.0
    return min(1.0, epoch / warmup_epochs)


def adaptive_label_smoothing_loss(
    logits: torch.Tensor,
    y: torch.Tensor,
    alpha: float | torch.Tensor,
    form: AlsForm = DEFAULT_ALS_FORM,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """ALS with per-sample smoothing α̃ (B,) (or a scalar); α̃ is detached (a weight, not a path).

    ``"ls_official"`` (default): ℓ against 1 − α̃ on the label and α̃/(L − 1) elsewhere (official code).
    ``"eq2"``: (1 − α̃)·ℓ(f, y) + α̃·Ω(f), Eq. 2 as printed (L× the Ω weight of label smoothing).
    ``"ls_paper"``: ℓ(f, (1 − α̃)·y + α̃/L·1_L) = (1 − α̃)·ℓ(f, y) + (α̃/L)·Ω(f) (Section 3.1 identity).
    """
    a = _alpha_column(alpha, logits).squeeze(1)
    if form == "eq2":
        ce = F.cross_entropy(logits, y, reduction="none")
        loss = (1.0 - a) * ce + a * smoothing_regulariser(logits)
    elif form in ("ls_paper", "ls_official"):
        uls_form: UlsForm = "paper" if form == "ls_paper" else "official"
        targets = uniform_label_smoothing_targets(y, logits.shape[1], a, uls_form).to(logits.dtype)
        loss = soft_cross_entropy(logits, targets)
    else:
        raise ValueError(f"unknown ALS form {form!r}")
    return _reduce(loss, reduction)


class EmaConfidence:
    """Per-sample EMA of the main head's logits and the sharpened confidence (Algorithm 1 lines 1, 3, 4).

    t_i starts at 0 (line 1) and, each time sample i is seen, t_i ← β·t_i + (1 − β)·f_Θ0(x_i) (line 3;
    logits, detached, as in the official code). The confidence is S(t_i/τ)_{y_i} and the smoothing factor
    α̃(x_i) = 1 − S(t_i/τ)_{y_i} (line 4): dividing by τ < 1 sharpens the over-smooth average (Section 3.2).
    Defaults β = 0.7, τ = 1/3 (Section 4.1). No bias correction: at the first visit t_i = (1 − β)·f, as
    the algorithm states. If an index repeats within one update, the last occurrence wins.
    """

    def __init__(
        self,
        num_samples: int,
        num_classes: int,
        beta: float = 0.7,
        tau: float = 1.0 / 3.0,
        device: torch.device | str | None = None,
    ):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        if tau <= 0.0:
            raise ValueError(f"tau must be positive, got {tau}")
        self.beta = float(beta)
        self.tau = float(tau)
        self.ema = torch.zeros(num_samples, num_classes, device=device)

    @torch.no_grad()
    def update(self, indices: torch.Tensor, logits: torch.Tensor) -> None:
        """t_i ← β·t_i + (1 − β)·z_i for the samples `indices` (dataset positions) with main logits z."""
        idx = indices.to(self.ema.device, torch.long)
        z = logits.detach().to(self.ema.device, self.ema.dtype)
        self.ema[idx] = self.beta * self.ema[idx] + (1.0 - self.beta) * z

    @torch.no_grad()
    def probs(self, indices: torch.Tensor) -> torch.Tensor:
        """S(t_i/τ), shape (B, L)."""
        return torch.softmax(self.ema[indices.to(self.ema.device, torch.long)] / self.tau, dim=1)

    @torch.no_grad()
    def confidence(self, indices: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """S(t_i/τ)_{y_i}, shape (B,)."""
        p = self.probs(indices)
        return p.gather(1, y.to(p.device, torch.long).view(-1, 1)).squeeze(1)

    @torch.no_grad()
    def smoothing_factor(self, indices: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """α̃(x_i) = 1 − S(t_i/τ)_{y_i} (Algorithm 1 line 4), shape (B,)."""
        return adaptive_smoothing_factor(self.probs(indices), y.to(self.ema.device, torch.long))

    def state_dict(self) -> dict[str, Any]:
        return {"ema": self.ema.clone(), "beta": self.beta, "tau": self.tau}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        ema = state["ema"]
        if tuple(ema.shape) != tuple(self.ema.shape):
            raise ValueError(
                f"EMA shape mismatch: checkpoint {tuple(ema.shape)}, expected {tuple(self.ema.shape)}"
            )
        self.ema = ema.detach().to(self.ema.device, self.ema.dtype).clone()
        self.beta = float(state.get("beta", self.beta))
        self.tau = float(state.get("tau", self.tau))


def alasca_loss(
    main_logits: torch.Tensor,
    ac_logits_list: Sequence[torch.Tensor],
    y: torch.Tensor,
    base_loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    alpha: float | torch.Tensor,
    lam: float = 2.0,
    form: AlsForm = DEFAULT_ALS_FORM,
) -> torch.Tensor:
    """Algorithm 1 lines 5–6: 𝓛(f_Θ0, y) + λ·Σ_k mean_i ℓ^ALS_α̃(f_Θk(x_i), y_i).

    `base_loss_fn(main_logits, y)` is the LNL method's (batch-mean) loss on the main head — plain CE for
    "Standard" — so ALS never touches the main head (Section 3.2: "LS with ACs does not affect the main
    classifier"). `alpha` is the per-sample α̃ (B,) (from `EmaConfidence.smoothing_factor`) or a scalar.
    """
    total = base_loss_fn(main_logits, y)
    for ac_logits in ac_logits_list:
        total = total + lam * adaptive_label_smoothing_loss(ac_logits, y, alpha, form=form)
    return total


def alasca_star_logits(
    main_logits: torch.Tensor,
    ac_logits_list: Sequence[torch.Tensor],
    combine: Literal["logits", "probs"] = "logits",
    heads: Literal["all", "main_and_last"] = "all",
) -> torch.Tensor:
    """Ensemble prediction for "ALASCA*" (Table 4: "ensemble of all classifiers during inference").

    "ALASCA" reports the main head f_Θ0 alone (Algorithm 1 outputs Θ_0); "ALASCA*" ensembles
    ``heads="all"`` (main + every AC, the paper's wording) or ``heads="main_and_last"`` (main + the last
    AC, what the official evaluation does). ``combine="logits"`` averages logits (as the official code);
    ``combine="probs"`` averages softmax probabilities and returns their log, so argmax/NLL work alike.
    """
    if heads == "all":
        members = [main_logits, *ac_logits_list]
    elif heads == "main_and_last":
        if not ac_logits_list:
            raise ValueError("heads='main_and_last' needs at least one auxiliary classifier")
        members = [main_logits, ac_logits_list[-1]]
    else:
        raise ValueError(f"unknown heads selection {heads!r}")
    stacked = torch.stack(members, dim=0)
    if combine == "logits":
        return stacked.mean(dim=0)
    if combine == "probs":
        return torch.softmax(stacked, dim=-1).mean(dim=0).log()
    raise ValueError(f"unknown combine mode {combine!r}")
