"""Pre-activation wide ResNet (Zagoruyko & Komodakis, BMVC 2016) for 32×32 inputs; default WRN-16-4.

Seed 000 trains WRN-16-4 on CIFAR-100 and attaches the random-label heads "before the last fully
connected layer", i.e. on the pooled last feature layer (64·k features). The network is

    conv3×3(3→16) → 3 groups of (depth − 4)/6 pre-activation basic blocks, widths 16k, 32k, 64k,
    strides 1, 2, 2 → BN → ReLU → global average pool → linear,

with a basic block BN-ReLU-conv3×3-BN-ReLU-(dropout)-conv3×3 plus identity, or plus a 1×1 conv on the
pre-activated input where the width or stride changes (as in the authors' reference implementation).

Initialisation: conv Kaiming-normal (fan-out, ReLU gain), BN weight 1 / bias 0, linear weight
U(±1/√fan_in) (torch's default for nn.Linear) and bias 0; all draws from an optional `torch.Generator`.

For the random-label wrapper the model is split at 2 points: "layer" 0 is the feature extractor and
"layer" 1 the classifier, so copy depth 1 (the paper's heads) means a fresh linear on `features(x)`.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class PreActBlock(nn.Module):
    """Pre-activation basic block with optional 1×1 projection shortcut."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, dropout: float):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1, bias=False)
        self.dropout: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.relu(self.bn1(x))
        # With a projection the shortcut sees the pre-activated input (reference WRN code); else identity.
        skip = x if self.shortcut is None else self.shortcut(a)
        out = self.conv1(a)
        out = self.conv2(self.dropout(torch.relu(self.bn2(out))))
        return out + skip


class WideResNet(nn.Module):
    """WRN-depth-width with `features(x) -> (B, 64·width)` and a linear `classifier`."""

    num_layers: int = 2  # split points for RandomLabelHeadsNet: [features, classifier]

    def __init__(
        self,
        depth: int = 16,
        width: int = 4,
        num_classes: int = 100,
        dropout: float = 0.0,
        in_channels: int = 3,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if (depth - 4) % 6 != 0 or depth < 10:
            raise ValueError(f"WRN depth must be 6n + 4 with n >= 1, got {depth}")
        n = (depth - 4) // 6
        widths = (16, 16 * width, 32 * width, 64 * width)
        self.feature_dim = widths[3]
        self.num_classes = num_classes
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        groups: list[nn.Module] = []
        in_ch = widths[0]
        for out_ch, stride in zip(widths[1:], (1, 2, 2), strict=True):
            blocks = [
                PreActBlock(in_ch if i == 0 else out_ch, out_ch, stride if i == 0 else 1, dropout)
                for i in range(n)
            ]
            groups.append(nn.Sequential(*blocks))
            in_ch = out_ch
        self.blocks = nn.Sequential(*groups)
        self.bn = nn.BatchNorm2d(self.feature_dim)
        self.classifier = nn.Linear(self.feature_dim, num_classes)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
                    m.weight.normal_(0.0, math.sqrt(2.0 / fan_out), generator=generator)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                    m.reset_running_stats()
                elif isinstance(m, nn.Linear):
                    _linear_init(m, generator)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled last feature layer (B, 64·width): where the paper attaches the random-label heads."""
        h = torch.relu(self.bn(self.blocks(self.conv1(x))))
        return h.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

    # Split interface shared with VGG16 (see labelrepro.papers.random_labels.heads).
    def forward_until(self, x: torch.Tensor, k: int) -> torch.Tensor:
        if k == 0:
            return x
        if k == 1:
            return self.features(x)
        if k == 2:
            return self.forward(x)
        raise ValueError(f"cut point must be 0, 1 or 2, got {k}")

    def forward_from(self, h: torch.Tensor, k: int) -> torch.Tensor:
        if k == 0:
            return self.forward(h)
        if k == 1:
            return self.classifier(h)
        if k == 2:
            return h
        raise ValueError(f"cut point must be 0, 1 or 2, got {k}")

    def make_tail(
        self,
        start: int,
        out_features: int,
        width_multiplier: float = 1.0,
        groups: int = 1,
        generator: torch.Generator | None = None,
    ) -> nn.Linear:
        """A fresh linear head on the features (start must be 1, i.e. copy depth 1).

        A linear layer has no hidden width, so `width_multiplier` has no effect; G per-class linear heads
        of `out_features` outputs are one linear layer with G·out_features outputs (identical function and
        per-head initialisation), so `groups` only sets the output count.
        """
        if start != 1:
            raise ValueError(
                "WideResNet supports random-label heads only on the last feature layer (start=1)"
            )
        head = nn.Linear(self.feature_dim, out_features * groups)
        _linear_init(head, generator)
        return head


def _linear_init(m: nn.Linear, generator: torch.Generator | None) -> None:
    bound = 1.0 / math.sqrt(m.in_features)
    with torch.no_grad():
        m.weight.uniform_(-bound, bound, generator=generator)
        nn.init.zeros_(m.bias)


def wrn16_4(
    num_classes: int = 100, dropout: float = 0.0, generator: torch.Generator | None = None
) -> WideResNet:
    """WRN-16-4, the paper's default network."""
    return WideResNet(16, 4, num_classes, dropout, generator=generator)
