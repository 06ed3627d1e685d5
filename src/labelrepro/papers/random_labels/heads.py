"""Random-label prediction heads with gradient routing (seed 000, Becker & Risse, §2 and §3.1.3).

Every training sample i gets one fixed random label s_i ∈ {0..n−1}. Beside the class output p ∈ R^N the
network emits p̂ ∈ R^{N×n}: one group of n random-label outputs per class. Three losses (§2):

    L_class = −Σ_i δ_iy log p_i                          (trains backbone + class head)
    L_rnd   = −Σ_j δ_jy Σ_i δ_is log p̂_i^j              (trains only the random-label part)
    L_reg   = −Σ_j δ_jy (1/n) Σ_i log p̂_i^j             (× λ; trains only the feature extractor)

Normalisation of p̂. §2 does not say over which outputs p̂ is a softmax. Appendix A.5, Eq. 5, builds class
scores p̂_j^class = Σ_i p̂_i^j from the same p̂; with a softmax per group that sum is 1 for every class
and carries no information, so p̂ must be a softmax over all N·n outputs jointly. This also matches A.3
("L_reg ... trains the feature extractor to generate discriminative features for class label prediction")
and §2 (L_reg equalises the random labels "while ensuring accurate class label predictions"): with a
joint softmax L_reg = −log P(y) + CE(uniform_n, P(·|y)), a class term plus the within-group uniformity
term, so the regulariser cannot be satisfied by learning nothing. Hence `normalization="joint"` is the
default; `"group"` (softmax within each class's group, the reading in the issue) is kept as an option.
Under both, the random-label prediction for accuracy is the arg-max of the true class's group.

Copy depth. `copy_depth` d copies the backbone's last d weight layers as a freshly initialised tail that
reads the activation entering layer L − d + 1 (d = 1: a linear head on the last features, as in all
experiments but Fig. 3a). How the per-class structure meets deep copies is not stated:
`tail_mode="shared"` (default) is one copied tail whose last layer emits N·n outputs; at d = 1 this is
exactly N per-class linear heads. `tail_mode="per_class"` makes N independent copies of the tail (each
emitting n), the literal reading of "copying the entire network for each head", and runs every sample
through all N copies (N× the copied layers' compute and activations). `tail_mode="per_class_routed"` has the
same N copies but runs each sample through its own class's copy only (`VGGTail(h, labels=y)`): about one
copy's compute per sample. That is exact only when nothing needs the other classes' groups, i.e. under a
per-group softmax (`normalization="group"`; the joint softmax's normaliser sums over all N groups) and
without the single-output variant (Eq. 5 sums over all groups); its outputs are then (B, n), the true
class's group only. In training mode a routed copy's batch norm normalises over its own class's samples
in the batch (the all-copies forward normalises every copy over the whole batch); in evaluation mode, and
for BN-free copies (VGG16 d ≤ 3), the two modes compute the same.

Gradient routing. The random-label part is evaluated twice on the same activation h:
  * `rnd_logits` = tail(h.detach()) — L_rnd reaches the tail's parameters but never the backbone;
  * `rnd_logits_reg` = tail evaluated with *detached* parameters (torch.func.functional_call) on the live
    h — L_reg reaches the feature extractor but never the tail's parameters. Buffers are cloned for this
    pass, so BN running statistics are updated once per step, by the first pass.
The forward values of the two are identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from labelrepro.core.seeding import make_generator
from labelrepro.losses.label_smoothing import Convention, label_smoothing_cross_entropy

TailMode = Literal["shared", "per_class", "per_class_routed"]
TAIL_MODES: tuple[str, ...] = ("shared", "per_class", "per_class_routed")
Normalization = Literal["joint", "group"]


class SplittableBackbone(Protocol):
    """What the wrapper needs from a backbone (VGG16: 16 layers; WideResNet: features + classifier)."""

    num_layers: int

    def forward_until(self, x: torch.Tensor, k: int) -> torch.Tensor: ...

    def forward_from(self, h: torch.Tensor, k: int) -> torch.Tensor: ...

    def make_tail(
        self,
        start: int,
        out_features: int,
        width_multiplier: float = 1.0,
        groups: int = 1,
        generator: torch.Generator | None = None,
    ) -> nn.Module: ...


@dataclass
class RandomLabelOutputs:
    """Outputs of one forward pass.

    logits: (B, N) class logits (Eq. 5 class scores in the single-output variant).
    rnd_logits: (B, N, n) random-label logits, or (B, n) = only the true class's group (routed per-class
        tails); gradient reaches only the random-label part (for L_rnd).
    rnd_logits_reg: same values, gradient reaches only the feature extractor (for L_reg); None when the
        forward pass was asked not to build it (λ = 0 runs, evaluation).
    features: the activation the random-label part reads (live, attached to the backbone's graph).
    single_output: True for the A.5 variant (no class head, no L_class).
    """

    logits: torch.Tensor
    rnd_logits: torch.Tensor
    rnd_logits_reg: torch.Tensor | None
    features: torch.Tensor
    single_output: bool = False


class RandomLabelHeadsNet(nn.Module):
    """A backbone plus per-class random-label heads, with the routing of §2 built into `forward`."""

    def __init__(
        self,
        backbone: nn.Module,
        num_classes: int,
        num_random_labels: int,
        copy_depth: int = 1,
        width_multiplier: float = 1.0,
        tail_mode: TailMode = "shared",
        single_output: bool = False,
        generator: torch.Generator | None = None,
    ):
        """`backbone` implements `SplittableBackbone`; `generator` seeds the heads' fresh initialisation.

        `single_output=True` is the A.5 variant: class scores are Eq. 5 (log Σ_i exp of each group's logits,
        i.e. log of the summed joint probabilities), the backbone's own class head is unused.
        """
        super().__init__()
        num_layers = int(backbone.num_layers)
        if not 1 <= copy_depth <= num_layers:
            raise ValueError(f"copy_depth must be in [1, {num_layers}], got {copy_depth}")
        if tail_mode not in TAIL_MODES:
            raise ValueError(f"tail_mode must be one of {TAIL_MODES}, got '{tail_mode}'")
        if num_random_labels < 2:
            raise ValueError("need at least 2 random labels")
        if single_output and tail_mode == "per_class_routed":
            raise ValueError("the single-output variant (Eq. 5) needs every class's group: "
                             "use tail_mode 'shared' or 'per_class'")
        self.backbone = backbone
        self.num_classes, self.num_random_labels = num_classes, num_random_labels
        self.copy_depth, self.tail_mode, self.single_output = copy_depth, tail_mode, single_output
        self.routed = tail_mode == "per_class_routed"
        self.start = num_layers - copy_depth
        if tail_mode == "shared":
            groups, out = 1, num_classes * num_random_labels
        else:
            groups, out = num_classes, num_random_labels
        self.heads = backbone.make_tail(self.start, out, width_multiplier, groups, generator)
        # Tails that can run each sample through its own class's copy (VGG16); others (a single linear
        # layer, WRN) compute all groups and select, which is exact and, for one layer, cheaper.
        self._heads_route = self.routed and bool(getattr(self.heads, "supports_routing", False))

    def _run_heads(
        self, h: torch.Tensor, labels: torch.Tensor | None, params: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """(B, N, n) random-label logits, or (B, n) of the true class's group when routed."""
        kwargs = {"labels": labels} if self._heads_route else {}
        out = self.heads(h, **kwargs) if params is None else functional_call(self.heads, params, (h,), kwargs)
        if self._heads_route:
            return out
        out = out.reshape(h.shape[0], self.num_classes, self.num_random_labels)
        if self.routed:
            assert labels is not None
            return out[torch.arange(h.shape[0], device=h.device), labels]
        return out

    def forward(
        self, x: torch.Tensor, with_reg: bool = True, labels: torch.Tensor | None = None
    ) -> RandomLabelOutputs:
        """`with_reg=False` skips the second (L_reg) pass through the heads: use it when λ = 0 or in eval.

        `labels` (the class labels the heads are trained with) are needed by routed per-class tails only,
        which then return the true class's group alone; the other modes ignore them.
        """
        if self.routed and labels is None:
            raise ValueError("tail_mode 'per_class_routed' runs each sample through its class's copy: "
                             "pass labels=y")
        h = self.backbone.forward_until(x, self.start)
        rnd = self._run_heads(h.detach(), labels)
        rnd_reg = None
        if with_reg:
            frozen = {name: p.detach() for name, p in self.heads.named_parameters()}
            frozen.update({name: b.clone() for name, b in self.heads.named_buffers()})
            rnd_reg = self._run_heads(h, labels, frozen)
        logits = (
            torch.logsumexp(rnd, dim=-1) if self.single_output else self.backbone.forward_from(h, self.start)
        )
        return RandomLabelOutputs(logits, rnd, rnd_reg, h, self.single_output)


def true_group(rnd_logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B, n) logits of the true class's group: index (B, N, n) outputs, or pass routed (B, n) ones on."""
    if rnd_logits.dim() == 2:
        return rnd_logits
    return rnd_logits[torch.arange(rnd_logits.shape[0], device=rnd_logits.device), y]


def _group_log_probs(rnd_logits: torch.Tensor, y: torch.Tensor, normalization: Normalization) -> torch.Tensor:
    """log p̂^y: (B, n) log-probabilities of the true class's group under the chosen normalisation."""
    if normalization == "joint":
        if rnd_logits.dim() == 2:
            raise ValueError("the joint softmax normalises over every class's group, but the routed heads "
                             "computed only the true class's: use normalization 'group'")
        b, n_cls, n = rnd_logits.shape
        rows = torch.arange(b, device=rnd_logits.device)
        return F.log_softmax(rnd_logits.reshape(b, n_cls * n), dim=1).reshape(b, n_cls, n)[rows, y]
    if normalization == "group":
        return F.log_softmax(true_group(rnd_logits, y), dim=1)
    raise ValueError(f"normalization must be 'joint' or 'group', got '{normalization}'")


def random_label_losses(
    outputs: RandomLabelOutputs,
    y: torch.Tensor,
    s: torch.Tensor,
    lam: float,
    normalization: Normalization = "joint",
    label_smoothing: float = 0.0,
    label_smoothing_convention: Convention = "others",
) -> dict[str, torch.Tensor]:
    """The three losses of §2 (batch means) and the total for a single backward() call.

    L_class = −log p_y (softmax over the N class logits);
    L_rnd   = −log p̂_s^y;
    L_reg   = −(1/n) Σ_i log p̂_i^y, the cross-entropy between the uniform distribution over the n random
              labels and the true class's group (§2, third equation; not an entropy or KL: it differs from
              KL(U ‖ p̂^y) by the constant log n only under `normalization="group"`).
    "loss" = L_class + L_rnd + λ·L_reg, where L_rnd is taken on `rnd_logits` (heads only) and L_reg on
    `rnd_logits_reg` (feature extractor only). Single-output variant (A.5): "loss" = L_rnd + λ·L_reg, where
    L_reg is the only loss the feature extractor gets (the paper drops L_class and λ there: pass lam=1;
    lam <= 0 would leave the backbone untrained and is an error). "class", "rnd", "reg" are the
    unweighted values.

    `label_smoothing` δ > 0 replaces L_class by the smoothed cross-entropy of A.4 Eq. 2 (convention
    "others": 1 − δ on the label, δ/(N − 1) on every other class; the shared `losses.label_smoothing`).
    It smooths the class head only: the random-label losses are the probe and the regulariser, unchanged.
    """
    if outputs.single_output and lam <= 0:
        raise ValueError(f"the single-output variant (A.5) trains the feature extractor by L_reg alone; "
                         f"lam={lam} would leave it untrained: pass lam=1 (A.5's unweighted L_reg)")
    if label_smoothing > 0:
        if outputs.single_output:
            raise ValueError("label smoothing acts on L_class, which the single-output variant has not")
        class_loss = label_smoothing_cross_entropy(
            outputs.logits, y, label_smoothing, label_smoothing_convention
        )
    else:
        class_loss = F.cross_entropy(outputs.logits, y)
    rnd_loss = -_group_log_probs(outputs.rnd_logits, y, normalization).gather(1, s[:, None]).mean()
    reg_src = outputs.rnd_logits_reg
    if reg_src is None:
        if lam != 0:
            raise ValueError("lam != 0 needs rnd_logits_reg: call the model with with_reg=True")
        reg_src = outputs.rnd_logits.detach()
    reg_loss = -_group_log_probs(reg_src, y, normalization).mean()
    total = rnd_loss if outputs.single_output else class_loss + rnd_loss
    if lam != 0:
        total = total + lam * reg_loss
    return {"loss": total, "class": class_loss, "rnd": rnd_loss, "reg": reg_loss}


@torch.no_grad()
def random_label_accuracy(rnd_logits: torch.Tensor, y: torch.Tensor, s: torch.Tensor) -> float:
    """Fraction of samples whose true class's group predicts their random label (chance = 1/n).

    `rnd_logits`: (B, N, n), or the routed heads' (B, n) true groups."""
    return (true_group(rnd_logits, y).argmax(dim=1) == s).float().mean().item()


def draw_random_labels(num_samples: int, n: int, seed: int) -> torch.Tensor:
    """One fixed random label per training sample, from the run seed's "random-labels" stream.

    Drawn once, before training, so a sample keeps its label across epochs (otherwise nothing could be
    memorised); the dedicated stream keeps the labels independent of data order and initialisation.
    """
    return torch.randint(0, n, (num_samples,), generator=make_generator(seed, "random-labels"))
