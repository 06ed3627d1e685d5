"""HAR baseline of ALASCA's Table 3: heteroskedastic adaptive regularisation (Cao et al., ICLR 2021).

Cao, Chen, Lu, Arechiga, Gaidon & Ma, "Heteroskedastic and Imbalanced Deep Learning with Adaptive
Regularization", ICLR 2021. ALASCA's Table 3 says "for HAR and CDR, we apply their official code"; what
follows is re-implemented from that code (github.com/kaidic/HAR, read at commit 188a463: README.md,
cifar_hetero_est.py, weight_est.py, cifar_train.py, models/resnet_s.py, utils.py, heteroskedastic_cifar.py)
and from the paper's description as ALASCA summarises it (Remark 3.1: strength ∝ uncertainty^{3/5}; HAR
regularises "higher-uncertainty, lower-density regions more heavily"). The HAR paper's body could not be
read here beyond its abstract and introduction. The pipeline has three steps (README):

1. Estimate (`cifar_hetero_est.py`): the (noisy) training set is split at random into two halves
   (`utils.split_dataset`: a permutation, first ⌊n/2⌋ = fit, rest = held out); a fresh network is trained
   with plain CE on the first half for the full recipe (`--epochs` 120) and, after every epoch, its per-class
   accuracy on the held-out half is computed against the *given* (noisy) labels (confusion-matrix diagonal /
   row sums) and saved, so the last epoch's value is used. Only split 0 is run and read.
2. Strengths (`weight_est.py`, line 36-39): per class c, with n_c the count of the given label c in the
   whole training set, err_c = 1 − held-out accuracy of class c:
   s_c = err_c^0.6 / n_c^0.4, then s ← s / max_c s_c (so the largest is 1). The 0.6 is ALASCA's "3/5-th
   power of the label uncertainty"; n_c^0.4 is HAR's density factor (1 for a balanced set up to a constant,
   which the max-normalisation removes).
3. Train (`cifar_train.py`, lines 191-194 and 268-287): a fresh network from scratch on the whole training
   set; sample i's weight is s of its given label. Per step, with L = mean-over-batch CE and x̂_l the
   *normalised, pre-affine* output of every batch-norm layer inside the residual blocks
   (`BatchNorm2dMul.forward` returns (γx̂ + β, x̂); the stem's x̂ is discarded, option-A shortcuts have no
   BN), g_il = ∂L/∂x̂_l[i] (one `autograd.grad` over the batch loss, create_graph=True), and
   R_i = Σ_l ‖g_il‖₂ (L2 norms, *not* squared), the loss is L + reg_weight · mean_i(s_{ỹ_i} R_i), from the
   first epoch to the last (no schedule). `--reg_weight` is 10 in the README's command (argparse default 0.1).

Our network is ALASCA's ResNet-34 (basic blocks with a 1×1 conv + BN projection shortcut): the penalised
layers are bn1 and bn2 of every basic block (32 layers), not the stem BN and not the projection BN (the
official option-B shortcut uses a plain `nn.BatchNorm2d`, which does not report its output either).
`expose_block_normalised_outputs_` turns those modules into `NormalisedOutputBatchNorm2d`, which computes
the same BN as two ops (normalise, then affine) like the official model, so x̂ is a node of the graph.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class NormalisedOutputBatchNorm2d(nn.BatchNorm2d):
    """A BatchNorm2d that computes x̂ = (x − μ)/√(σ² + ε) and then γx̂ + β as separate ops and keeps x̂
    (while gradients are recorded) in `normalised`, for HAR's penalty. Same parameters, buffers,
    state_dict keys and running-statistics updates as nn.BatchNorm2d (instances are converted in place)."""

    normalised: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        factor = 0.0 if self.momentum is None else self.momentum
        update = self.training and self.track_running_stats
        if update and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative average, as nn.BatchNorm2d
                factor = 1.0 / float(self.num_batches_tracked)
        batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        keep_buffers = not self.training or self.track_running_stats
        normalised = F.batch_norm(
            x,
            self.running_mean if keep_buffers else None,
            self.running_var if keep_buffers else None,
            None,
            None,
            batch_stats,
            factor,
            self.eps,
        )
        if torch.is_grad_enabled():
            self.normalised = normalised
        if not self.affine:
            return normalised
        shape = (1, -1, 1, 1)
        weight = self.weight.to(normalised.dtype).view(shape)
        bias = self.bias.to(normalised.dtype).view(shape)
        return normalised * weight + bias


def expose_block_normalised_outputs_(backbone: nn.Module) -> list[NormalisedOutputBatchNorm2d]:
    """Convert bn1 and bn2 of every residual block of `backbone` (modules with `conv1`, `bn1`, `conv2`,
    `bn2`) to `NormalisedOutputBatchNorm2d` in place; returns them in forward order."""
    converted: list[NormalisedOutputBatchNorm2d] = []
    for module in backbone.modules():
        if module is backbone or not all(hasattr(module, a) for a in ("conv1", "bn1", "conv2", "bn2")):
            continue
        for name in ("bn1", "bn2"):
            bn = getattr(module, name)
            if type(bn) is nn.BatchNorm2d:
                bn.__class__ = NormalisedOutputBatchNorm2d
            if isinstance(bn, NormalisedOutputBatchNorm2d):
                converted.append(bn)
    if not converted:
        raise ValueError("no residual-block batch norms found to expose for HAR")
    return converted


def take_normalised_outputs(model: nn.Module) -> list[torch.Tensor]:
    """The x̂ tensors the last forward pass of `model` recorded (one per exposed BN), released from the
    modules so that nothing outlives the step but the autograd graph."""
    outputs = []
    for module in model.modules():
        if isinstance(module, NormalisedOutputBatchNorm2d) and module.normalised is not None:
            outputs.append(module.normalised)
            module.normalised = None
    return outputs


def gradient_norm_penalty(loss: torch.Tensor, normalised: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-sample R_i = Σ_l ‖∂loss/∂x̂_l[i]‖₂ (L2 norm of the flattened per-sample slice, not squared),
    shape (B,), at least float32, differentiable (create_graph) so the penalty trains the weights."""
    if not normalised:
        raise ValueError("no normalised batch-norm outputs were recorded (expose them first)")
    # outside autocast, as PyTorch's AMP notes do for gradient penalties: the backward ops run in the
    # dtypes the (autocast) forward chose, for every method alike
    with torch.autocast(device_type=loss.device.type, enabled=False):
        grads = torch.autograd.grad(loss, list(normalised), create_graph=True, allow_unused=True)
    batch = normalised[0].shape[0]
    dtype = torch.promote_types(normalised[0].dtype, torch.float32)  # bf16 → fp32, fp64 stays
    total = torch.zeros(batch, dtype=dtype, device=normalised[0].device)
    for g in grads:
        if g is not None:  # a layer the loss does not depend on contributes nothing
            total = total + torch.linalg.vector_norm(g.reshape(batch, -1).to(dtype), dim=1)
    return total


def har_loss(
    logits: torch.Tensor,
    y: torch.Tensor,
    normalised: Sequence[torch.Tensor],
    class_strengths: torch.Tensor,
    reg_weight: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stage-2 objective CE + reg_weight · mean_i s_{y_i} R_i (CE = batch mean; R_i from its gradients).

    Returns (loss, the weighted penalty mean_i s_{y_i} R_i, detached, for the epoch's log)."""
    ce = F.cross_entropy(logits, y)
    norms = gradient_norm_penalty(ce, normalised)
    penalty = (class_strengths.to(norms.dtype)[y] * norms).mean()
    return ce + reg_weight * penalty, penalty.detach()


def holdout_split(
    n: int, heldout_fraction: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(fit, held out) positions: a random permutation of range(n) cut after ⌊(1 − f)·n⌋ (f = 0.5: the
    official ⌊n/2⌋ halves)."""
    if not 0.0 < heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must lie in (0, 1), got {heldout_fraction}")
    n_fit = math.floor((1.0 - heldout_fraction) * n)
    if n_fit < 1 or n_fit >= n:
        raise ValueError(f"cannot split {n} samples into fit and held-out parts with f = {heldout_fraction}")
    perm = torch.randperm(n, generator=generator)
    return perm[:n_fit], perm[n_fit:]


def heldout_class_error(preds: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """err_c = 1 − (held-out samples of given label c predicted c) / (held-out samples of given label c):
    one minus the confusion matrix's diagonal over its row sums. A class without held-out samples gets
    the overall held-out error (the official code would produce NaN there)."""
    counts = torch.bincount(labels, minlength=num_classes).double()
    hits = torch.bincount(labels[preds == labels], minlength=num_classes).double()
    overall = 1.0 - hits.sum() / counts.sum().clamp(min=1.0)
    err = 1.0 - hits / counts.clamp(min=1.0)
    return torch.where(counts > 0, err, overall)


def class_strengths(
    class_error: torch.Tensor, class_counts: torch.Tensor, err_power: float = 0.6, count_power: float = 0.4
) -> torch.Tensor:
    """s_c = err_c^err_power / n_c^count_power, divided by max_c s_c (`weight_est.py`). Classes that no
    training sample carries (n_c = 0) get 0; all zeros when every error is 0 (nothing to regularise)."""
    if err_power < 0 or count_power < 0:
        raise ValueError(f"powers must be >= 0, got {err_power}, {count_power}")
    err = class_error.double().clamp(min=0.0)
    counts = class_counts.double()
    present = counts > 0
    raw = torch.where(present, err.pow(err_power) / counts.clamp(min=1.0).pow(count_power), 0.0)
    top = raw.max()
    if top <= 0:
        return torch.zeros_like(raw, dtype=torch.float32)
    return (raw / top).float()
