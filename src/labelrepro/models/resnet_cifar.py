"""ResNet-34 for 32×32 inputs (CIFAR), the backbone of seed 002 (ALASCA, Ko, Yi & Yun).

ALASCA follows Kim et al. (2021a, FINE) for the CIFAR backbone: the usual CIFAR adaptation of
He et al. (2016) ResNet-34,

    conv3×3(3→64) → BN → ReLU → (no max-pool) → 4 stages of [3, 4, 6, 3] basic blocks with widths
    64, 128, 256, 512 and strides 1, 2, 2, 2 → global average pool → linear,

with a basic block conv3×3-BN-ReLU-conv3×3-BN plus identity, or plus a 1×1 conv + BN projection where the
width or stride changes, followed by ReLU. For 32×32 inputs the stage outputs are 64×32×32, 128×16×16,
256×8×8 and 512×4×4.

`base_width` (64 in the paper) scales every stage width (w, 2w, 4w, 8w): smoke-scale runs use a narrow
network (e.g. w = 8) with the same depth and topology, because full-width ResNet-34 is far too slow on a
CPU; the scale is then a config value, not a different code path.

Auxiliary classifiers (ALASCA, Section 3.2 "Use of Auxiliary Classifiers") attach after stages 1–3, so
`forward_features(x)` returns the 4 stage outputs plus the pooled 512-d feature; `classify(pooled)` is the
main (linear) head. Nothing is detached: gradients of heads placed on a stage output reach the backbone.

Initialisation reproduces PyTorch's layer defaults (conv/linear weight and bias U(±1/√fan_in), BN weight 1,
bias 0), which is what the reference CIFAR ResNets use, but draws from an optional `torch.Generator` so
that a run's initial weights depend only on its seed.
"""

from __future__ import annotations

import math

import torch
from torch import nn

STAGE_WIDTHS: tuple[int, int, int, int] = (64, 128, 256, 512)
STAGE_STRIDES: tuple[int, int, int, int] = (1, 2, 2, 2)
RESNET34_BLOCKS: tuple[int, int, int, int] = (3, 4, 6, 3)


class BasicBlock(nn.Module):
    """He et al. (2016) basic block (post-activation) with a 1×1 conv + BN projection when needed."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


def stage_widths(base_width: int = 64) -> tuple[int, int, int, int]:
    """(w, 2w, 4w, 8w): the four stage widths for base width w (64, 128, 256, 512 at the paper's w = 64)."""
    if base_width < 1:
        raise ValueError(f"base_width must be >= 1, got {base_width}")
    return (base_width, 2 * base_width, 4 * base_width, 8 * base_width)


class ResNetCifar(nn.Module):
    """CIFAR ResNet with per-stage feature access (for auxiliary classifiers)."""

    def __init__(
        self,
        num_blocks: tuple[int, int, int, int] = RESNET34_BLOCKS,
        num_classes: int = 10,
        in_channels: int = 3,
        generator: torch.Generator | None = None,
        base_width: int = 64,
    ):
        super().__init__()
        widths = stage_widths(base_width)
        self.num_classes = num_classes
        self.base_width = base_width
        self.stage_channels: tuple[int, int, int, int] = widths
        self.feature_dim = widths[-1]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        stages: list[nn.Module] = []
        in_ch = widths[0]
        for n, out_ch, stride in zip(num_blocks, widths, STAGE_STRIDES, strict=True):
            blocks = [
                BasicBlock(in_ch if i == 0 else out_ch, out_ch, stride if i == 0 else 1) for i in range(n)
            ]
            stages.append(nn.Sequential(*blocks))
            in_ch = out_ch
        self.stages = nn.ModuleList(stages)
        self.linear = nn.Linear(self.feature_dim, num_classes)
        torch_default_init_(self, generator)

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[stage1, stage2, stage3, stage4, pooled]: the 4 stage outputs (B, C_k, H_k, W_k) and (B, 8w).

        Stage k (1-based) is element k − 1, so an AC "after block k" reads `forward_features(x)[k - 1]`.
        """
        h = torch.relu(self.bn1(self.conv1(x)))
        feats: list[torch.Tensor] = []
        for stage in self.stages:
            h = stage(h)
            feats.append(h)
        feats.append(h.mean(dim=(2, 3)))
        return feats

    def classify(self, pooled: torch.Tensor) -> torch.Tensor:
        """The main head f_Θ0 on the pooled feature."""
        return self.linear(pooled)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled penultimate feature (B, 8w)."""
        return self.forward_features(x)[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))


def torch_default_init_(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """Re-draw every Conv2d/Linear/BatchNorm2d in `module` with PyTorch's defaults, from `generator`.

    PyTorch's kaiming_uniform_(a=√5) for conv/linear weights has bound √(6/((1+5)·fan_in)) = 1/√fan_in, and
    biases are U(±1/√fan_in); reproducing that here (rather than calling the in-place initialisers, which
    use the global RNG) keeps the reference behaviour while making initialisation seed-addressable.
    """
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                fan_in = m.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)
                m.weight.uniform_(-bound, bound, generator=generator)
                if m.bias is not None:
                    m.bias.uniform_(-bound, bound, generator=generator)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
                m.reset_running_stats()


def resnet34_cifar(
    num_classes: int = 10,
    generator: torch.Generator | None = None,
    in_channels: int = 3,
    base_width: int = 64,
) -> ResNetCifar:
    """ResNet-34 for CIFAR (21,282,122 parameters for 10 classes at base width 64; 21,328,292 for 100)."""
    return ResNetCifar(
        RESNET34_BLOCKS, num_classes, in_channels=in_channels, generator=generator, base_width=base_width
    )
