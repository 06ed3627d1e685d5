"""Pre-activation (v2) bottleneck ResNets for 32×32 inputs, depth 9n + 2 (ResNet-56 v2: n = 6).

The architecture of the Keras CIFAR-10 ResNet example ("resnet_v2") that seed 004 (A.2.2) names as the
base of its ResNet-56 (V2), in the layout the authors' Keras code builds (`lr/models/resnet.py` of
julilien/LabelRelaxation, legacy folder, read for this file):

- stem: conv3×3 (16) → BN → ReLU;
- three stages of n bottleneck units BN-ReLU-conv1×1(c_in) → BN-ReLU-conv3×3(c_in) → BN-ReLU-conv1×1(c_out);
  stage 0: c_in = 16, c_out = 64, and its first unit skips the first BN-ReLU (the stem just applied one);
  stages 1, 2: c_out = 2·c_in (128, 256), the first unit strides 2 in its first 1×1 conv;
- the first unit of every stage adds a 1×1 projection (stride as the unit, no BN) of the raw input,
  the others the identity;
- head: BN → ReLU → 8×8 average pool → linear.

Convolutions keep their biases (Keras' default) and start He-normal (fan-in), as in Keras' `he_normal`
(untruncated here); BN weight 1, bias 0. 56 layers = 3·6·3 convs + stem + linear.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _bn_relu(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))


class Bottleneck(nn.Module):
    """One v2 bottleneck unit; `preact=False` skips the first BN-ReLU (first unit of stage 0)."""

    def __init__(self, c_in: int, c_mid: int, c_out: int, stride: int, preact: bool, project: bool):
        super().__init__()
        self.pre = _bn_relu(c_in) if preact else nn.Identity()
        self.conv1 = nn.Conv2d(c_in, c_mid, 1, stride=stride)
        self.conv2 = nn.Sequential(_bn_relu(c_mid), nn.Conv2d(c_mid, c_mid, 3, padding=1))
        self.conv3 = nn.Sequential(_bn_relu(c_mid), nn.Conv2d(c_mid, c_out, 1))
        self.shortcut = nn.Conv2d(c_in, c_out, 1, stride=stride) if project else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv3(self.conv2(self.conv1(self.pre(x))))
        return self.shortcut(x) + y


class PreActResNet(nn.Module):
    """ResNet v2 of depth 9n + 2 for (B, 3, 32, 32) inputs -> (B, num_classes) logits."""

    def __init__(self, depth: int = 56, num_classes: int = 10, in_channels: int = 3, width: int = 16,
                 generator: torch.Generator | None = None):
        super().__init__()
        if (depth - 2) % 9 != 0 or depth < 11:
            raise ValueError(f"depth must be 9n + 2 with n >= 1 (e.g. 56 or 110), got {depth}")
        n = (depth - 2) // 9
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), *_bn_relu(width))
        units: list[nn.Module] = []
        c_in = width
        for stage in range(3):
            c_out = 4 * c_in if stage == 0 else 2 * c_in
            for block in range(n):
                first = block == 0
                units.append(Bottleneck(
                    c_in if first else c_out, c_in, c_out, stride=2 if (first and stage > 0) else 1,
                    preact=not (first and stage == 0), project=first,
                ))
            c_in = c_out
        self.units = nn.Sequential(*units)
        self.head = _bn_relu(c_in)
        self.pool = nn.AdaptiveAvgPool2d(1)  # = the 8×8 average pool on 32×32 inputs
        self.fc = nn.Linear(c_in, num_classes)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Conv2d | nn.Linear):
                    fan_in = m.weight[0].numel()
                    m.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                    m.reset_running_stats()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.units(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def resnet56_v2(num_classes: int = 10, generator: torch.Generator | None = None) -> PreActResNet:
    """Seed 004's ResNet-56 (V2): n = 6 bottleneck units per stage."""
    return PreActResNet(depth=56, num_classes=num_classes, generator=generator)
