"""DenseNet-BC for 32×32 inputs (Huang et al. 2017), e.g. DenseNet-BC-100 with growth rate k = 12.

Seed 004 (A.2.4) uses "DenseNet-BC with a depth of 100 and a growth rate of 12 based on the original
implementation" (liuzhuang13/DenseNet, Torch); the layout of that paper's CIFAR models:

- stem: conv3×3 to 2k channels (no BN before it);
- three dense blocks of (depth − 4)/6 bottleneck layers each (16 for depth 100): BN-ReLU-conv1×1(4k)
  → BN-ReLU-conv3×3(k), the output concatenated to the input;
- between blocks a transition BN-ReLU-conv1×1(⌊θ·c⌋) → 2×2 average pool, compression θ = 0.5;
- head: BN → ReLU → global average pool → linear.

Convolutions have no bias and start N(0, 2/(k·k·out)) (the original code's init); linear bias 0; no
dropout (A.2.4: "we did not use Dropout").
"""

from __future__ import annotations

import math

import torch
from torch import nn


class DenseLayer(nn.Module):
    """BN-ReLU-conv1×1(4k)-BN-ReLU-conv3×3(k); returns the input with the k new channels appended."""

    def __init__(self, c_in: int, growth: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(c_in), nn.ReLU(inplace=True), nn.Conv2d(c_in, 4 * growth, 1, bias=False),
            nn.BatchNorm2d(4 * growth), nn.ReLU(inplace=True),
            nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], dim=1)


class Transition(nn.Sequential):
    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.BatchNorm2d(c_in), nn.ReLU(inplace=True), nn.Conv2d(c_in, c_out, 1, bias=False),
                         nn.AvgPool2d(2))


class DenseNetBC(nn.Module):
    """DenseNet-BC of `depth` (6m + 4), growth rate k and compression θ: (B, 3, 32, 32) -> logits."""

    def __init__(self, depth: int = 100, growth: int = 12, compression: float = 0.5, num_classes: int = 10,
                 in_channels: int = 3, generator: torch.Generator | None = None):
        super().__init__()
        if (depth - 4) % 6 != 0 or depth < 10:
            raise ValueError(f"DenseNet-BC depth must be 6m + 4 with m >= 1 (e.g. 100), got {depth}")
        if not 0.0 < compression <= 1.0:
            raise ValueError(f"compression must lie in (0, 1], got {compression}")
        layers_per_block = (depth - 4) // 6
        channels = 2 * growth
        parts: list[nn.Module] = [nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)]
        for block in range(3):
            for _ in range(layers_per_block):
                parts.append(DenseLayer(channels, growth))
                channels += growth
            if block < 2:
                out = math.floor(compression * channels)
                parts.append(Transition(channels, out))
                channels = out
        parts += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*parts)
        self.fc = nn.Linear(channels, num_classes)
        self.num_features = channels
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                    m.weight.normal_(0.0, math.sqrt(2.0 / n), generator=generator)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                    m.reset_running_stats()
                elif isinstance(m, nn.Linear):
                    bound = 1.0 / math.sqrt(m.in_features)
                    m.weight.uniform_(-bound, bound, generator=generator)
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def densenet_bc100(num_classes: int = 10, generator: torch.Generator | None = None) -> DenseNetBC:
    """Seed 004's DenseNet-BC-100 (k = 12, θ = 0.5)."""
    return DenseNetBC(depth=100, growth=12, compression=0.5, num_classes=num_classes, generator=generator)
