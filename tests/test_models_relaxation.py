"""Shapes and parameter counts (computed by hand below) of seed 004's CIFAR models."""

from __future__ import annotations

import pytest
import torch

from labelrepro.models.densenet import DenseNetBC, densenet_bc100
from labelrepro.models.preact_resnet import PreActResNet, resnet56_v2
from labelrepro.models.vgg import VGG16, VGG16Dropout, vgg16_bn_dropout


def conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_in * c_out * k * k + (c_out if bias else 0)


def bn(c: int) -> int:
    return 2 * c


def resnet_v2_params(n: int, classes: int) -> int:
    total = conv(3, 16, 3) + bn(16)
    c_in = 16
    for stage in range(3):
        c_out = 4 * c_in if stage == 0 else 2 * c_in
        for block in range(n):
            source = c_in if block == 0 else c_out
            pre = 0 if (block == 0 and stage == 0) else bn(source)
            total += pre + conv(source, c_in, 1) + bn(c_in) + conv(c_in, c_in, 3)
            total += bn(c_in) + conv(c_in, c_out, 1)
            if block == 0:
                total += conv(source, c_out, 1)
        c_in = c_out
    return total + bn(256) + 256 * classes + classes


def densenet_params(m: int, k: int, classes: int) -> int:
    total, c = conv(3, 2 * k, 3, bias=False), 2 * k
    for block in range(3):
        for _ in range(m):
            total += bn(c) + conv(c, 4 * k, 1, False) + bn(4 * k) + conv(4 * k, k, 3, False)
            c += k
        if block < 2:
            total += bn(c) + conv(c, c // 2, 1, False)
            c //= 2
    return total + bn(c) + c * classes + classes


def test_resnet56_v2_shape_and_count():
    net = resnet56_v2(num_classes=10)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert sum(p.numel() for p in net.parameters()) == resnet_v2_params(6, 10)
    convs = sum(isinstance(m, torch.nn.Conv2d) for m in net.modules())
    assert convs == 1 + 3 * 6 * 3 + 3  # stem + 3 per unit + 3 projections (depth 56 = stem + 54 + fc)
    with pytest.raises(ValueError, match="9n \\+ 2"):
        PreActResNet(depth=50)


def test_densenet_bc100_shape_and_count():
    net = densenet_bc100(num_classes=100)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 100)
    assert net.num_features == 342  # 24 + 16·12 = 216 -> 108 -> 300 -> 150 -> 342
    assert sum(p.numel() for p in net.parameters()) == densenet_params(16, 12, 100)
    assert 760_000 < densenet_params(16, 12, 10) < 780_000  # the paper's "0.8M" DenseNet-BC-100
    with pytest.raises(ValueError, match="6m \\+ 4"):
        DenseNetBC(depth=99)


def test_vgg16_dropout_variant_and_default_unchanged():
    net = vgg16_bn_dropout(num_classes=10)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    widths = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
    expected, c = 0, 3
    for w in widths:
        expected += conv(c, w, 3) + bn(w)
        c = w
    expected += 512 * 512 + 512 + bn(512) + 512 * 10 + 10
    assert sum(p.numel() for p in net.parameters()) == expected
    rates = [m.p for m in net.modules() if isinstance(m, torch.nn.Dropout)]
    assert rates == [0.3] + [0.4] * 7 + [0.5, 0.5]  # 0.3 in block 1, 0.4 deeper, 0.5 around the FC
    assert not any(isinstance(m, torch.nn.Dropout) for m in VGG16(num_classes=10).modules()
                   if getattr(m, "p", 0) > 0)  # seed 000's VGG16 keeps its dropout-free default
    assert isinstance(net, VGG16Dropout)
