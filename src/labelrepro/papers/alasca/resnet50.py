"""ResNet-50 with ALASCA's auxiliary classifiers, the Clothing1M network of seed 002's Table 2.

The authors' code (jongwooko/ALASCA `models/ResNet_Imagenet.py::sdresnet50`, read; docs/decisions.md)
builds torchvision's ResNet-50 (v1.5: stride on the 3×3 conv of each bottleneck), loads the ImageNet
weights of torchvision's original ResNet-50 release with `strict=False` (so only the backbone is
pretrained), replaces the 1000-way linear layer by a fresh 14-way one, and attaches three "branch"
classifiers after layer1, layer2 and layer3: 1×1 conv → 512 + BN + ReLU; k×k conv with stride k (k = 8, 4,
2) + BN + ReLU; 1×1 conv → 2048 + BN + ReLU; global average pool; linear. That is the bottleneck AC of
`labelrepro.papers.alasca.auxiliary` at ResNet-50's widths (inner 2048 / 4, output 2048 = the last stage's
width); the official convs carry biases, ours do not (each is followed by BN, which absorbs a bias).

Weights: torchvision's `ResNet50_Weights.IMAGENET1K_V1` (the original release, the weights the official
code's `resnet50-19c8e357.pth` URL serves). When they cannot be obtained (offline, no cached copy) a
`PretrainedWeightsUnavailableError` error says so and how to fix it; `pretrained=False` (smoke scale only)
builds the same network from random initialisation instead.

Fresh layers (the 14-way head and the ACs) are drawn from the run's generator: convs Kaiming-normal
(fan_out), BN weight 1 / bias 0 (as the official ResNet constructor initialises its branches), linear layers
PyTorch's default U(±1/√fan_in). Without pretrained weights the whole backbone is drawn the same way.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from labelrepro.papers.alasca.auxiliary import BottleneckAC, downsample_factor

#: Output channels of ResNet-50's four stages (bottleneck expansion 4 × 64, 128, 256, 512).
RESNET50_STAGE_CHANNELS: tuple[int, int, int, int] = (256, 512, 1024, 2048)
WEIGHTS_NAME = "ResNet50_Weights.IMAGENET1K_V1"


class PretrainedWeightsUnavailableError(RuntimeError):
    """The ImageNet weights of ResNet-50 could not be loaded (raised before training starts)."""


def _fresh_init_(module: nn.Module, generator: torch.Generator | None) -> None:
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                m.weight.normal_(0.0, math.sqrt(2.0 / fan_out), generator=generator)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.in_features)
                m.weight.uniform_(-bound, bound, generator=generator)
                if m.bias is not None:
                    m.bias.uniform_(-bound, bound, generator=generator)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
                m.reset_running_stats()


def load_imagenet_resnet50() -> nn.Module:
    """torchvision's ResNet-50 with IMAGENET1K_V1 weights (downloaded into torch's hub cache on first use)."""
    from torchvision.models import ResNet50_Weights, resnet50

    try:
        return resnet50(weights=ResNet50_Weights.IMAGENET1K_V1)
    except Exception as error:  # URLError, HTTPError, OSError, a truncated file ...
        url = ResNet50_Weights.IMAGENET1K_V1.url
        raise PretrainedWeightsUnavailableError(
            f"Could not load the ImageNet weights of ResNet-50 ({WEIGHTS_NAME}, {url}): {error}. "
            f"Table 2 (Clothing1M) fine-tunes an ImageNet-pretrained ResNet-50, as the authors' code does. "
            f"Run once with network access, or copy {url.rsplit('/', 1)[-1]} into "
            f"{torch.hub.get_dir()}/checkpoints/ (or set TORCH_HOME). The setting `pretrained: false` "
            f"trains from random initialisation instead (smoke scale; not the paper's setting)."
        ) from error


class ResNet50Features(nn.Module):
    """ResNet-50 exposing what the ALASCA trainer needs: `forward_features(x)` → [layer1, layer2, layer3,
    layer4 outputs, pooled 2048-d feature], `classify(pooled)` → main logits; `stage_channels`."""

    def __init__(self, num_classes: int, pretrained: bool, generator: torch.Generator | None = None):
        super().__init__()
        if pretrained:
            net = load_imagenet_resnet50()
        else:
            from torchvision.models import resnet50

            with torch.device("meta"):  # no throw-away initialisation: every layer is drawn below
                net = resnet50(weights=None)
            net = net.to_empty(device="cpu")
            _fresh_init_(net, generator)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layers = nn.ModuleList([net.layer1, net.layer2, net.layer3, net.layer4])
        self.fc = nn.Linear(RESNET50_STAGE_CHANNELS[-1], num_classes)  # fresh 14-way head
        _fresh_init_(self.fc, generator)
        self.num_classes = num_classes
        self.stage_channels = RESNET50_STAGE_CHANNELS

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = self.stem(x)
        feats = []
        for layer in self.layers:
            h = layer(h)
            feats.append(h)
        return [*feats, h.mean(dim=(2, 3))]

    def classify(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.fc(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.forward_features(x)[-1])


def resnet50_acs(num_classes: int, positions: tuple[int, ...],
                 generator: torch.Generator | None = None) -> nn.ModuleList:
    """The official branch ACs after the given stages (⊆ {1, 2, 3}): bottleneck 2048/4 → 2048, stride k."""
    out = RESNET50_STAGE_CHANNELS[-1]
    acs = nn.ModuleList(
        BottleneckAC(RESNET50_STAGE_CHANNELS[p - 1], num_classes, downsample_factor(p), width=out // 4,
                     out_ch=out)
        for p in positions
    )
    _fresh_init_(acs, generator)
    return acs
