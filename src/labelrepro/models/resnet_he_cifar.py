"""He et al. (2016) §4.2 CIFAR ResNets (ResNet-20/32/44/56/110) with option-A shortcuts, as re-implemented
by Idelbayev (2020), the recipe seed 003 (Cornacchia et al., §6.4) trains its ResNet-20 with:

    conv3x3(3 -> 16) -> BN -> ReLU -> 3 stages of n basic blocks with 16, 32, 64 channels and strides
    1, 2, 2 -> global average pool -> linear,     depth = 6n + 2 (ResNet-20: n = 3).

A basic block is conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU. Option A (He et al.): where
the width doubles and the resolution halves, the shortcut is parameter-free: x subsampled with stride 2
and zero-padded with planes/4 channels on each side of the channel axis. ResNet-20 has 269,722
parameters for 10 classes ("0.27M"). For 32x32 inputs the last block's output (the penultimate layer
before pooling) is 64 x 8 x 8 = 4096 units.

Every ReLU is its own `nn.ReLU` module (`relu_layers()` lists them in forward order, named), so forward
hooks can read each layer's activations. Initialisation: Kaiming-normal conv and linear weights, as
Idelbayev's `_weights_init`; BN weight 1, bias 0; linear bias PyTorch's default. An optional
`torch.Generator` makes the initial weights depend only on a run's seed.
"""

from __future__ import annotations

import math

import torch
from torch import nn

STAGE_WIDTHS: tuple[int, int, int] = (16, 32, 64)


class OptionAShortcut(nn.Module):
    """Parameter-free shortcut: x[:, :, ::2, ::2] zero-padded by `pad` channels on both sides."""

    def __init__(self, pad: int) -> None:
        super().__init__()
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlockA(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN + shortcut (identity, or option A where the shape changes), ReLU."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu2 = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            if out_ch != 2 * in_ch or stride != 2:
                raise ValueError(
                    f"option A needs out = 2 x in and stride 2, got {in_ch} -> {out_ch}, stride {stride}")
            self.shortcut = OptionAShortcut(out_ch // 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class ResNetHeCifar(nn.Module):
    """ResNet-(6n+2) for 32x32 images with option-A shortcuts (see the module docstring)."""

    def __init__(
        self, depth: int = 20, num_classes: int = 10, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110), got {depth}")
        blocks = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, STAGE_WIDTHS[0], 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(STAGE_WIDTHS[0])
        self.relu = nn.ReLU()
        stages, in_ch = [], STAGE_WIDTHS[0]
        for index, width in enumerate(STAGE_WIDTHS):
            layers = []
            for b in range(blocks):
                stride = 2 if index > 0 and b == 0 else 1
                layers.append(BasicBlockA(in_ch, width, stride))
                in_ch = width
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3 = stages
        self.linear = nn.Linear(STAGE_WIDTHS[-1], num_classes)
        self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                fan_in = module.weight[0].numel()
                std = math.sqrt(2.0 / fan_in)  # kaiming_normal_, fan_in mode, ReLU gain
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)
                if module.bias is not None:
                    bound = 1 / math.sqrt(fan_in)
                    module.bias.copy_((torch.rand(module.bias.shape, generator=generator) * 2 - 1) * bound)
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.fill_(1.0)
                module.bias.zero_()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last block's output (64 x 8 x 8 for 32 x 32 inputs), before pooling."""
        out = self.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.features(x).mean(dim=(2, 3))
        return self.linear(pooled)

    def relu_layers(self) -> list[tuple[str, nn.ReLU]]:
        """Every ReLU module in forward order with its name (the last one is the penultimate layer)."""
        return [(name, module) for name, module in self.named_modules() if isinstance(module, nn.ReLU)]


def resnet20(num_classes: int = 10, generator: torch.Generator | None = None) -> ResNetHeCifar:
    return ResNetHeCifar(20, num_classes, generator)
