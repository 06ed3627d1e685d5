"""MnistConvNet: the LIMIT supplement's Table 3 MNIST classifier (and the BN-on-FC gradient predictor)."""

from __future__ import annotations

import torch
from torch import nn

from labelrepro.papers.limit.mnist_net import MnistConvNet


def _count(m: nn.Module, kind: type[nn.Module]) -> int:
    return sum(isinstance(x, kind) for x in m.modules())


def test_output_shape_and_features() -> None:
    net = MnistConvNet().eval()
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    logits, z = net.forward_features(x)
    assert logits.shape == (4, 10)
    assert z.shape == (4, 128)
    assert torch.equal(net(x), logits)
    # Spatial sizes 28 -> 14 -> 7 -> 3 -> 1, so the conv stack ends in 256 x 1 x 1.
    assert net.features(x).shape == (4, 256, 1, 1)


def test_layer_counts_match_table3() -> None:
    net = MnistConvNet()
    assert _count(net, nn.Conv2d) == 4
    assert _count(net, nn.BatchNorm2d) == 4
    assert _count(net, nn.Linear) == 2
    assert _count(net, nn.BatchNorm1d) == 0
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0], c.padding[0]) for c in convs] == [
        (32, 4, 2, 1),
        (32, 4, 2, 1),
        (64, 3, 2, 0),
        (256, 3, 1, 0),
    ]
    # conv 544 + 16416 + 18496 + 147712, BN 2*(32+32+64+256) = 768, FC 32896 + 1290 -> 218122
    assert sum(p.numel() for p in net.parameters()) == 218122


def test_predictor_variant_has_bn_on_fc_and_bias_free_head_option() -> None:
    q = MnistConvNet(bn_on_fc=True)
    assert _count(q, nn.BatchNorm1d) == 1
    assert q(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    assert MnistConvNet(last_layer_bias=False).head.bias is None
