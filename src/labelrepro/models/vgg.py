"""VGG16 with batch norm for 32×32 inputs, written as 16 explicit weight layers.

Seed 000 (Becker & Risse, §3.1.3, Fig. 3a) counts VGG16 as "16 sequential layers: the first 13 are
convolutional, followed by 3 fully connected layers" and copies the last d of them for the random-label
heads. The network is therefore kept as an ordered `layers` list of 16 blocks, one per weight layer, so
that (a) the activation at any cut point is `forward_until(x, k)`, (b) the rest of the network is
`forward_from(h, k)`, and (c) a freshly initialised copy of blocks [k, 16) is `make_tail(k, ...)`.

One block = one weight layer plus everything up to the next weight layer:
  * blocks 0..12: conv3×3 → BN → ReLU (→ 2×2 max-pool after blocks 1, 3, 6, 9, 12, where VGG16 pools);
  * blocks 13, 14: [reshape] → linear → ReLU (→ dropout, p = 0 by default);
  * block 15: the classifier linear.

Two classifier heads (the paper does not say which one it used):
  * `classifier="cifar"` (default): after the fifth pool a 32×32 input is 512×1×1, flattened into
    FC 512→512→512→N. This is the usual CIFAR VGG16; its 3 FC layers are small enough that copying them
    (d ≤ 3) does not dwarf the backbone, and per-class copies stay feasible.
  * `classifier="torchvision"`: torchvision's VGG16-BN head (adaptive average pool to 7×7, which for a
    1×1 map replicates it 49×, then FC 25088→4096→4096→N), as in the authors' related code
    (OFFICIAL_CODE_FACTS.md).

Initialisation follows torchvision's VGG (conv: Kaiming-normal, fan-out, ReLU gain; BN weight 1, bias 0;
linear bias 0). Linear weights: torchvision's N(0, 0.01) for the torchvision head; for the 512-wide CIFAR
head N(0, 0.01) would shrink the signal ≈4.4× per hidden layer, so its hidden linears use Kaiming-normal
(fan-in) and only the classifier keeps N(0, 0.01). All draws take an optional `torch.Generator`, so a
model's weights depend only on the run's seed.

Grouped tails: `make_tail(..., groups=G)` builds G independent copies of blocks [start, 16) fused into one
module (the first copied block reads the shared input with G·C output channels, later convs use
`groups=G`, later linears are batched per group). This is exactly G separate networks, but runs as one.

Routed forward: `tail(h, labels=y)` runs every sample through copy y_b only and returns (B, out_features),
one copy's output per sample (seed 000's per-class heads under a per-head softmax need no other copy).
Samples are grouped by label and each present copy runs, with views of its slice of the fused weights, on
its own samples: compute ≈ one copy per sample, parameters still G copies. Batch norm inside the copy
normalises over that copy's samples in the batch (in training mode), so routed = "each copy applied to the
sub-batch of its own class", which equals the all-copies forward exactly for BN-free copies (VGG16 d ≤ 3)
and in evaluation mode, but not for training-mode BN (there the all-copies forward normalises copy g over
every sample of the batch).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

NUM_LAYERS = 16
NUM_CONV = 13
CONV_WIDTHS: tuple[int, ...] = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
POOL_AFTER: frozenset[int] = frozenset({1, 3, 6, 9, 12})
ClassifierKind = Literal["cifar", "torchvision"]
_HIDDEN_FC = {"cifar": 512, "torchvision": 4096}
_POOLED_SIDE = {"cifar": 1, "torchvision": 7}  # spatial side of the map that block 13 flattens


def _normal_(tensor: torch.Tensor, std: float, generator: torch.Generator | None) -> None:
    with torch.no_grad():
        tensor.normal_(0.0, std, generator=generator)


class GroupedLinear(nn.Module):
    """G independent linear maps applied to G contiguous chunks of the input: (B, G·in) → (B, G·out).

    Used for the later layers of a per-class tail (groups = classes), so that N copied FC layers cost one
    batched matmul instead of N modules.
    """

    def __init__(self, groups: int, in_features: int, out_features: int):
        super().__init__()
        self.groups, self.in_features, self.out_features = groups, in_features, out_features
        self.weight = nn.Parameter(torch.empty(groups, out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(groups, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xg = x.reshape(x.shape[0], self.groups, self.in_features)
        out = torch.einsum("bgi,goi->bgo", xg, self.weight) + self.bias
        return out.reshape(x.shape[0], self.groups * self.out_features)


    def extra_repr(self) -> str:
        return f"groups={self.groups}, in_features={self.in_features}, out_features={self.out_features}"


class ConvBlock(nn.Module):
    """conv3×3 → BN → ReLU (→ max-pool): one VGG weight layer."""

    def __init__(self, in_ch: int, out_ch: int, pool: bool, groups: int = 1, shared_input: bool = False):
        """`in_ch`/`out_ch` are per group; `shared_input` = every group reads the same `in_ch` channels."""
        super().__init__()
        conv_groups = 1 if shared_input else groups
        total_in = in_ch if shared_input else in_ch * groups
        self.conv = nn.Conv2d(total_in, out_ch * groups, kernel_size=3, padding=1, groups=conv_groups)
        self.bn = nn.BatchNorm2d(out_ch * groups)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(2, 2) if pool else nn.Identity()
        self._out_per_group = out_ch

    def reset_parameters(self, generator: torch.Generator | None) -> None:
        # Kaiming-normal, fan-out mode, counted per group (torch's own fan would count all groups).
        fan_out = self._out_per_group * self.conv.kernel_size[0] * self.conv.kernel_size[1]
        _normal_(self.conv.weight, math.sqrt(2.0 / fan_out), generator)
        nn.init.zeros_(self.conv.bias)
        nn.init.ones_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)
        self.bn.reset_running_stats()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.relu(self.bn(self.conv(x))))

    def group_parameters(self, groups: int) -> list[tuple[torch.Tensor, ...]]:
        """Per copy: views of its conv weight and bias and BN weight and bias (`unbind`, whose backward is
        one stack: indexing each copy separately would allocate a full-size gradient per copy)."""
        conv, bn = self.conv, self.bn
        o = self._out_per_group
        return list(zip(conv.weight.view(groups, o, *conv.weight.shape[1:]).unbind(0),
                        conv.bias.view(groups, o).unbind(0), bn.weight.view(groups, o).unbind(0),
                        bn.bias.view(groups, o).unbind(0), strict=True))

    def forward_group(self, x: torch.Tensor, g: int, params: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Copy g alone on x (the shared input for the first copied block, else copy g's own activation),
        with `params` = `group_parameters(...)[g]`. In training mode BN normalises over the samples in x and
        updates copy g's slice of the running statistics in place; the caller counts
        `num_batches_tracked` (once per routed forward, as the fused forward does)."""
        weight, bias, bn_weight, bn_bias = params
        bn, rows = self.bn, slice(g * self._out_per_group, (g + 1) * self._out_per_group)
        h = F.conv2d(x, weight, bias, padding=self.conv.padding)
        tracked = bn.num_batches_tracked
        momentum = bn.momentum if bn.momentum is not None else 1.0 / (float(tracked) + 1.0)  # type: ignore[arg-type]
        h = F.batch_norm(
            h,
            bn.running_mean[rows] if bn.running_mean is not None else None,
            bn.running_var[rows] if bn.running_var is not None else None,
            bn_weight,
            bn_bias,
            bn.training or bn.running_mean is None,
            momentum,
            bn.eps,
        )
        return self.pool(self.relu(h))


class LinearBlock(nn.Module):
    """[adaptive pool, flatten] → linear (→ ReLU → dropout): one VGG fully connected weight layer."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        hidden: bool,
        flatten_from: int | None,
        dropout: float,
        init_std: float | None,
        groups: int = 1,
        shared_input: bool = False,
    ):
        """`flatten_from`: None (input already flat) or the 2-D side the map is pooled to and flattened.

        `init_std`: fixed weight std, or None for Kaiming-normal (fan-in, ReLU gain). Sizes are per group.
        """
        super().__init__()
        self.pool: nn.Module = nn.Identity()
        self.flatten: nn.Module = nn.Identity()
        if flatten_from is not None:
            if flatten_from > 1:
                self.pool = nn.AdaptiveAvgPool2d((flatten_from, flatten_from))
            self.flatten = nn.Flatten(1)
        self.linear: nn.Module
        if groups == 1 or shared_input:
            self.linear = nn.Linear(in_features, out_features * groups)
        else:
            self.linear = GroupedLinear(groups, in_features, out_features)
        self.relu: nn.Module = nn.ReLU(inplace=True) if hidden else nn.Identity()
        self.dropout: nn.Module = nn.Dropout(dropout) if hidden and dropout > 0 else nn.Identity()
        self._fan_in = in_features
        self._init_std = init_std
        self._out_per_group = out_features

    def reset_parameters(self, generator: torch.Generator | None) -> None:
        std = self._init_std if self._init_std is not None else math.sqrt(2.0 / self._fan_in)
        _normal_(self.linear.weight, std, generator)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.relu(self.linear(self.flatten(self.pool(x)))))

    def group_parameters(self, groups: int) -> list[tuple[torch.Tensor, ...]]:
        """Per copy: views of its weight and bias (of a `GroupedLinear`, or rows of a shared-input linear)."""
        o, w = self._out_per_group, self.linear.weight
        weights = w.unbind(0) if w.dim() == 3 else w.view(groups, o, w.shape[1]).unbind(0)
        return list(zip(weights, self.linear.bias.view(groups, o).unbind(0), strict=True))

    def forward_group(self, x: torch.Tensor, g: int, params: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Copy g alone on x, with `params` = `group_parameters(...)[g]`."""
        return self.dropout(self.relu(F.linear(self.flatten(self.pool(x)), *params)))


def _build_blocks(
    start: int,
    in_width: int,
    out_widths: list[int],
    classifier: ClassifierKind,
    dropout: float,
    groups: int,
    generator: torch.Generator | None,
) -> nn.ModuleList:
    """Blocks [start, 16) with per-group output widths `out_widths`; the first reads `in_width` channels."""
    if len(out_widths) != NUM_LAYERS - start:
        raise ValueError(f"need {NUM_LAYERS - start} output widths, got {len(out_widths)}")
    blocks: list[nn.Module] = []
    width = in_width
    for i, out in zip(range(start, NUM_LAYERS), out_widths, strict=True):
        shared = groups > 1 and i == start
        block: ConvBlock | LinearBlock
        if i < NUM_CONV:
            block = ConvBlock(width, out, pool=i in POOL_AFTER, groups=groups, shared_input=shared)
        else:
            side = _POOLED_SIDE[classifier]
            last = i == NUM_LAYERS - 1
            block = LinearBlock(
                width * side * side if i == NUM_CONV else width,
                out,
                hidden=not last,
                flatten_from=side if i == NUM_CONV else None,
                dropout=dropout,
                init_std=0.01 if (last or classifier == "torchvision") else None,
                groups=groups,
                shared_input=shared,
            )
        block.reset_parameters(generator)
        blocks.append(block)
        width = out
    return nn.ModuleList(blocks)


class VGGTail(nn.Module):
    """A freshly initialised copy of VGG16 blocks [start, 16), possibly G copies fused (see module doc).

    `tail(h)`: (B, groups·out_features), group-major (group g owns columns [g·out, (g+1)·out)).
    `tail(h, labels=y)` (G > 1): (B, out_features), sample b through copy y_b only (routed, module doc).
    """

    supports_routing = True

    def __init__(self, start: int, layers: nn.ModuleList, groups: int, out_features: int):
        super().__init__()
        self.start, self.layers, self.groups, self.out_features = start, layers, groups, out_features

    def forward(self, h: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is not None:
            return self._forward_routed(h, labels)
        for layer in self.layers:
            h = layer(h)
        return h

    def _forward_routed(self, h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.groups == 1:
            raise ValueError("a routed forward needs a grouped tail (groups > 1)")
        b = h.shape[0]
        if len(self.layers) == 1:
            # One shared-input layer (d = 1): all G outputs are one matmul; selecting is cheaper than routing.
            out = self.layers[0](h).reshape(b, self.groups, self.out_features)
            return out[torch.arange(b, device=h.device), labels]
        order = torch.argsort(labels, stable=True)
        counts = torch.bincount(labels, minlength=self.groups).tolist()  # one host sync per forward
        chunks = h[order].split(counts)
        params = [layer.group_parameters(self.groups) for layer in self.layers]
        outs = []
        for g, chunk in enumerate(chunks):
            if chunk.shape[0] == 0:
                continue
            for layer, layer_params in zip(self.layers, params, strict=True):
                chunk = layer.forward_group(chunk, g, layer_params[g])
            outs.append(chunk)
        if self.training:
            for layer in self.layers:
                if isinstance(layer, ConvBlock) and layer.bn.num_batches_tracked is not None:
                    layer.bn.num_batches_tracked.add_(1)
        sorted_out = torch.cat(outs)
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(b, device=h.device)
        return sorted_out[inverse]


class VGG16(nn.Module):
    """VGG16-BN for 32×32 inputs as 16 weight-layer blocks (`layers`), splittable at any block boundary."""

    num_layers: int = NUM_LAYERS

    def __init__(
        self,
        num_classes: int = 100,
        classifier: ClassifierKind = "cifar",
        in_channels: int = 3,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
    ):
        """`dropout` is after the two hidden FC layers (torchvision uses 0.5; 0 = the paper's "no additional
        regularization" default). `generator` makes the initialisation a function of the run seed."""
        super().__init__()
        if classifier not in _HIDDEN_FC:
            raise ValueError(f"classifier must be 'cifar' or 'torchvision', got '{classifier}'")
        self.classifier_kind: ClassifierKind = classifier
        self.num_classes, self.in_channels, self.dropout = num_classes, in_channels, dropout
        hidden = _HIDDEN_FC[classifier]
        self.widths: tuple[int, ...] = (*CONV_WIDTHS, hidden, hidden, num_classes)
        self.layers = _build_blocks(0, in_channels, list(self.widths), classifier, dropout, 1, generator)

    def input_width(self, k: int) -> int:
        """Channels/features of the activation entering block k (k = 0: the image)."""
        return self.in_channels if k == 0 else self.widths[k - 1]

    def forward_until(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """Run blocks [0, k): the activation the copied tail of depth 16 − k feeds on (k = 0: x itself)."""
        self._check_cut(k)
        for layer in self.layers[:k]:
            x = layer(x)
        return x

    def forward_from(self, h: torch.Tensor, k: int) -> torch.Tensor:
        """Run blocks [k, 16) on the activation entering block k."""
        self._check_cut(k)
        for layer in self.layers[k:]:
            h = layer(h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from(x, 0)

    def make_tail(
        self,
        start: int,
        out_features: int,
        width_multiplier: float = 1.0,
        groups: int = 1,
        generator: torch.Generator | None = None,
    ) -> VGGTail:
        """A freshly initialised copy of blocks [start, 16) ending in `out_features` outputs (per group).

        The first copied block takes the backbone's activation at `start` unchanged; the hidden widths
        (outputs of copied blocks start..14) are multiplied by `width_multiplier`, which is what the paper's
        width test at d = 3 varies. `groups` = number of independent copies fused into the module.
        """
        if not 0 <= start < NUM_LAYERS:
            raise ValueError(f"start must be in [0, {NUM_LAYERS}), got {start}")
        if width_multiplier <= 0 or groups < 1 or out_features < 1:
            raise ValueError("width_multiplier must be > 0, groups and out_features >= 1")
        hidden = [max(1, round(w * width_multiplier)) for w in self.widths[start : NUM_LAYERS - 1]]
        layers = _build_blocks(
            start,
            self.input_width(start),
            [*hidden, out_features],
            self.classifier_kind,
            self.dropout,
            groups,
            generator,
        )
        return VGGTail(start, layers, groups, out_features)

    @staticmethod
    def _check_cut(k: int) -> None:
        if not 0 <= k <= NUM_LAYERS:
            raise ValueError(f"cut point must be in [0, {NUM_LAYERS}], got {k}")


#: Dropout after each conv of the dropout variant (None: none), by conv index: the "cifar-vgg" layout
#: (conv → ReLU → BN, dropout 0.3 in the first block and 0.4 deeper, none before a pool) that seed 004's
#: authors adapted ("BatchNormalization and Dropout (ranging from p = 0.3 to p = 0.5 for increasing depth)").
_DROPOUT_AFTER_CONV: tuple[float | None, ...] = (0.3, None, 0.4, None, 0.4, 0.4, None, 0.4, 0.4, None, 0.4,
                                                 0.4, None)


class VGG16Dropout(nn.Module):
    """VGG16 with batch norm and dropout for 32×32 inputs (seed 004, A.2.3), a variant next to `VGG16`.

    13 convs 3×3 (widths as VGG16), each conv → ReLU → BN (the cifar-vgg order, ReLU before BN; not
    `VGG16`'s conv → BN → ReLU), dropout per `_DROPOUT_AFTER_CONV`, 2×2 max-pool after convs 2, 4, 7,
    10, 13; then dropout 0.5, FC 512 → ReLU → BN1d → dropout 0.5 → FC classes. Init as `VGG16` (conv
    Kaiming-normal fan-out, BN 1/0, hidden linear Kaiming-normal fan-in, classifier N(0, 0.01)).
    `VGG16` itself (seed 000) is unchanged by this class.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, final_dropout: float = 0.5,
                 generator: torch.Generator | None = None):
        super().__init__()
        parts: list[nn.Module] = []
        c = in_channels
        for index, (width, p) in enumerate(zip(CONV_WIDTHS, _DROPOUT_AFTER_CONV, strict=True)):
            parts += [nn.Conv2d(c, width, 3, padding=1), nn.ReLU(inplace=True), nn.BatchNorm2d(width)]
            if p is not None:
                parts.append(nn.Dropout(p))
            if index in POOL_AFTER:
                parts.append(nn.MaxPool2d(2, 2))
            c = width
        self.features = nn.Sequential(*parts)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(final_dropout), nn.Linear(512, 512), nn.ReLU(inplace=True),
            nn.BatchNorm1d(512), nn.Dropout(final_dropout), nn.Linear(512, num_classes),
        )
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                    _normal_(m.weight, math.sqrt(2.0 / fan_out), generator)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                    m.reset_running_stats()
            hidden, last = self.classifier[2], self.classifier[-1]
            _normal_(hidden.weight, math.sqrt(2.0 / hidden.in_features), generator)
            nn.init.zeros_(hidden.bias)
            _normal_(last.weight, 0.01, generator)
            nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def vgg16_bn_dropout(num_classes: int = 10, generator: torch.Generator | None = None) -> VGG16Dropout:
    """Seed 004's VGG16 (batch norm, dropout 0.3 → 0.5 by depth)."""
    return VGG16Dropout(num_classes=num_classes, generator=generator)
