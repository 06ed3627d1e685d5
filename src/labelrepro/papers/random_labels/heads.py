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
emitting n), the literal reading of "copying the entire network for each head", which costs N× the
copied layers (infeasible for N = 100 with deep copies of torchvision's 4096-wide head).

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

TailMode = Literal["shared", "per_class"]
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
    rnd_logits: (B, N, n) random-label logits; gradient reaches only the random-label part (for L_rnd).
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
        if tail_mode not in ("shared", "per_class"):
            raise ValueError(f"tail_mode must be 'shared' or 'per_class', got '{tail_mode}'")
        if num_random_labels < 2:
            raise ValueError("need at least 2 random labels")
        self.backbone = backbone
        self.num_classes, self.num_random_labels = num_classes, num_random_labels
        self.copy_depth, self.tail_mode, self.single_output = copy_depth, tail_mode, single_output
        self.start = num_layers - copy_depth
        if tail_mode == "shared":
            groups, out = 1, num_classes * num_random_labels
        else:
            groups, out = num_classes, num_random_labels
        self.heads = backbone.make_tail(self.start, out, width_multiplier, groups, generator)

    def forward(self, x: torch.Tensor, with_reg: bool = True) -> RandomLabelOutputs:
        """`with_reg=False` skips the second (L_reg) pass through the heads: use it when λ = 0 or in eval."""
        h = self.backbone.forward_until(x, self.start)
        shape = (x.shape[0], self.num_classes, self.num_random_labels)
        rnd = self.heads(h.detach()).reshape(shape)
        rnd_reg = None
        if with_reg:
            frozen = {name: p.detach() for name, p in self.heads.named_parameters()}
            frozen.update({name: b.clone() for name, b in self.heads.named_buffers()})
            rnd_reg = functional_call(self.heads, frozen, (h,)).reshape(shape)
        logits = (
            torch.logsumexp(rnd, dim=-1) if self.single_output else self.backbone.forward_from(h, self.start)
        )
        return RandomLabelOutputs(logits, rnd, rnd_reg, h, self.single_output)


def _group_log_probs(rnd_logits: torch.Tensor, y: torch.Tensor, normalization: Normalization) -> torch.Tensor:
    """log p̂^y: (B, n) log-probabilities of the true class's group under the chosen normalisation."""
    b, n_cls, n = rnd_logits.shape
    rows = torch.arange(b, device=rnd_logits.device)
    if normalization == "joint":
        return F.log_softmax(rnd_logits.reshape(b, n_cls * n), dim=1).reshape(b, n_cls, n)[rows, y]
    if normalization == "group":
        return F.log_softmax(rnd_logits[rows, y], dim=1)
    raise ValueError(f"normalization must be 'joint' or 'group', got '{normalization}'")


def random_label_losses(
    outputs: RandomLabelOutputs,
    y: torch.Tensor,
    s: torch.Tensor,
    lam: float,
    normalization: Normalization = "joint",
) -> dict[str, torch.Tensor]:
    """The three losses of §2 (batch means) and the total for a single backward() call.

    L_class = −log p_y (softmax over the N class logits);
    L_rnd   = −log p̂_s^y;
    L_reg   = −(1/n) Σ_i log p̂_i^y, the cross-entropy between the uniform distribution over the n random
              labels and the true class's group (§2, third equation; not an entropy or KL: it differs from
              KL(U ‖ p̂^y) by the constant log n only under `normalization="group"`).
    "loss" = L_class + L_rnd + λ·L_reg, where L_rnd is taken on `rnd_logits` (heads only) and L_reg on
    `rnd_logits_reg` (feature extractor only). Single-output variant (A.5): "loss" = L_rnd + λ·L_reg (the
    paper drops L_class and λ there, so pass lam=1). "class", "rnd", "reg" are the unweighted values.
    """
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
    """Fraction of samples whose true class's group predicts their random label (chance = 1/n)."""
    rows = torch.arange(rnd_logits.shape[0], device=rnd_logits.device)
    return (rnd_logits[rows, y].argmax(dim=1) == s).float().mean().item()


def draw_random_labels(num_samples: int, n: int, seed: int) -> torch.Tensor:
    """One fixed random label per training sample, from the run seed's "random-labels" stream.

    Drawn once, before training, so a sample keeps its label across epochs (otherwise nothing could be
    memorised); the dedicated stream keeps the labels independent of data order and initialisation.
    """
    return torch.randint(0, n, (num_samples,), generator=make_generator(seed, "random-labels"))
