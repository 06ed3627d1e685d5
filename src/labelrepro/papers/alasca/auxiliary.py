"""Auxiliary classifiers (ACs) for ALASCA (Ko, Yi & Yun; seed 002), Section 3.2 and Section 4.3 / Table 3.

ALASCA applies adaptive label smoothing to classifiers attached to intermediate stages so that the
implicit Lipschitz regularisation of label smoothing (Theorems 3.5/3.7) acts on intermediate layers.
Table 3 compares three AC architectures — a 2-layer MLP, a residual block (He et al. 2016) and a
bottleneck (Howard et al. 2017) — placed after the third residual stage only ("MLP", ...) or after all
of stages 1–3 ("MLP*", ...). The paper's default (all experiments) is bottleneck ACs after all stages.

Architectures, for a stage with C_k channels (64, 128, 256 for stages 1, 2, 3 of the CIFAR ResNet) and
the downsampling factor k = 8, 4, 2 that takes the stage's resolution (32, 16, 8 for 32×32 inputs) to
the last stage's 4×4:

* ``"mlp"`` (official code's `SDResNet_mlp`, models/ResNet_cifar.py): 1×1 conv C_k → 512 (no bias) + BN +
  ReLU at the stage's full resolution, global average pool, linear — a per-pixel 2-layer MLP ("2 layers
  MLP", §4.3), pooled between its layers. That file's forward has the AC calls commented out and
  train_cifar.py never builds it, so the layers come from its constructor. Option ``mlp_pool="before"``
  (this project's earlier design): pool → Linear(C_k, 512) → ReLU → Linear, nearly free in memory/time.
* ``"bottleneck"`` (official code, see OFFICIAL_CODE_FACTS): 1×1 conv → 128 + BN + ReLU; k×k conv with
  stride k (128 → 128) + BN + ReLU; 1×1 conv → 512 + BN + ReLU; global average pool; linear.
* ``"residual"`` (our design; the paper gives no details): one post-activation basic block from C_k to
  512 channels whose downsampling mirrors the bottleneck AC's — the first conv is k×k with stride k (so,
  unlike a 3×3 conv with stride 8, no input pixel is skipped), then a 3×3 conv; the shortcut is a k×k
  average pool followed by a 1×1 conv + BN (a projection that also sees every pixel); ReLU after the sum;
  global average pool; linear. Output resolution equals the last stage's (4×4 for CIFAR).

Widths scale with the backbone's base width w (64 in the paper): the "512" above is the backbone's
last-stage width 8w and the bottleneck's "128" is 2w, so a narrow smoke-scale network gets
proportionally narrow ACs (at w = 64 the numbers are exactly those above).

Gradient flow: Algorithm 1 (line 8) updates Θ_0 and all Θ_k with SGD on the joint loss, and the point of
the ACs is to regularise the *intermediate* layers, so AC losses back-propagate into the backbone
stages below them; nothing is detached here.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import nn

from labelrepro.models.resnet_cifar import ResNetCifar, torch_default_init_

AcType = Literal["mlp", "bottleneck", "residual"]
MlpPool = Literal["after", "before"]
AC_TYPES: tuple[str, ...] = get_args(AcType)
AC_WIDTH = 512  # feature width before each AC's final linear layer at w = 64 (= the last-stage width 8w)
BOTTLENECK_WIDTH = 128  # the bottleneck's inner width at w = 64 (2w)


def downsample_factor(position: int, num_stages: int = 4) -> int:
    """k such that a stride-k reduction takes stage `position`'s resolution to the last stage's (8, 4, 2)."""
    return 2 ** (num_stages - position)


class MlpAC(nn.Module):
    """Official MLP AC: 1×1 conv → `hidden` + BN + ReLU at full resolution, global average pool, linear."""

    def __init__(self, in_ch: int, num_classes: int, hidden: int = AC_WIDTH):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_ch, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True)
        )
        self.linear = nn.Linear(hidden, num_classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(self.body(h).mean(dim=(2, 3)))


class PooledMlpAC(nn.Module):
    """2-layer MLP on the globally average-pooled stage output (``mlp_pool="before"``)."""

    def __init__(self, in_ch: int, num_classes: int, hidden: int = AC_WIDTH):
        super().__init__()
        self.fc1 = nn.Linear(in_ch, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(h.mean(dim=(2, 3)))))


class BottleneckAC(nn.Module):
    """Official ALASCA AC: 1×1 → 128, k×k stride k, 1×1 → 512 (each + BN + ReLU), pool, linear."""

    def __init__(
        self, in_ch: int, num_classes: int, k: int, width: int = BOTTLENECK_WIDTH, out_ch: int = AC_WIDTH
    ):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_ch, width, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, k, stride=k, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )
        self.linear = nn.Linear(out_ch, num_classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(self.body(h).mean(dim=(2, 3)))


class ResidualAC(nn.Module):
    """One basic residual block C_k → 512 that downsamples by k (k×k stride-k conv; pooled projection)."""

    def __init__(self, in_ch: int, num_classes: int, k: int, out_ch: int = AC_WIDTH):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, k, stride=k, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        pool: nn.Module = nn.AvgPool2d(k, stride=k) if k > 1 else nn.Identity()
        self.shortcut = nn.Sequential(pool, nn.Conv2d(in_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch))
        self.linear = nn.Linear(out_ch, num_classes)

    def block(self, h: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(h)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(h))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(self.block(h).mean(dim=(2, 3)))


def make_ac(
    ac_type: AcType,
    in_ch: int,
    num_classes: int,
    position: int,
    base_width: int = 64,
    mlp_pool: MlpPool = "after",
) -> nn.Module:
    """One AC of `ac_type` for a stage with `in_ch` channels at (1-based) stage `position`; inner widths
    are 8w (AC_WIDTH at w = 64) and, for the bottleneck, 2w (BOTTLENECK_WIDTH at w = 64). `mlp_pool`:
    where the MLP AC pools ("after" its hidden layer, official; "before" it)."""
    out_ch = AC_WIDTH * base_width // 64
    if ac_type == "mlp":
        if mlp_pool == "after":
            return MlpAC(in_ch, num_classes, hidden=out_ch)
        if mlp_pool == "before":
            return PooledMlpAC(in_ch, num_classes, hidden=out_ch)
        raise ValueError(f"unknown mlp_pool {mlp_pool!r}; expected 'after' or 'before'")
    if ac_type == "bottleneck":
        width = BOTTLENECK_WIDTH * base_width // 64
        return BottleneckAC(in_ch, num_classes, downsample_factor(position), width=width, out_ch=out_ch)
    if ac_type == "residual":
        return ResidualAC(in_ch, num_classes, downsample_factor(position), out_ch=out_ch)
    raise ValueError(f"unknown AC type {ac_type!r}; expected one of {AC_TYPES}")


class ResNetWithACs(nn.Module):
    """A CIFAR ResNet backbone plus ACs after the given stages.

    `positions` ⊆ {1, 2, 3} names the stages an AC follows: Table 3's "third block only" is (3,), and
    "all blocks" (the starred rows; the paper's default) is (1, 2, 3). `forward` returns the main logits
    f_Θ0(x) and the AC logits [f_Θk(x)] in the order of `positions`.
    """

    def __init__(
        self,
        backbone: ResNetCifar,
        ac_type: AcType = "bottleneck",
        positions: tuple[int, ...] = (1, 2, 3),
        generator: torch.Generator | None = None,
        mlp_pool: MlpPool = "after",
    ):
        super().__init__()
        if ac_type not in AC_TYPES:
            raise ValueError(f"unknown AC type {ac_type!r}; expected one of {AC_TYPES}")
        positions = tuple(int(p) for p in positions)
        if not positions or len(set(positions)) != len(positions) or not set(positions) <= {1, 2, 3}:
            raise ValueError(f"positions must be distinct stages from {{1, 2, 3}}, got {positions}")
        self.backbone = backbone
        self.ac_type = ac_type
        self.positions = positions
        self.acs = nn.ModuleList(
            make_ac(ac_type, backbone.stage_channels[p - 1], backbone.num_classes, p, backbone.base_width,
                    mlp_pool)
            for p in positions
        )
        # The backbone was initialised by its own constructor; only the fresh ACs are drawn here.
        torch_default_init_(self.acs, generator)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats = self.backbone.forward_features(x)
        main = self.backbone.classify(feats[-1])
        return main, [ac(feats[p - 1]) for ac, p in zip(self.acs, self.positions, strict=True)]
