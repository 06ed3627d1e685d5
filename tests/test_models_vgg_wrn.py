"""VGG16 (16 splittable weight layers, fresh copied tails) and WRN-16-4 (seed 000 backbones)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from labelrepro.core.seeding import make_generator
from labelrepro.models.vgg import VGG16, ConvBlock, GroupedLinear, LinearBlock
from labelrepro.models.wrn import WideResNet, wrn16_4

N, B = 5, 4


@pytest.fixture(scope="module")
def vgg() -> VGG16:
    return VGG16(num_classes=N, generator=make_generator(0, "init"))


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(B, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_vgg16_has_13_conv_and_3_linear_weight_layers(vgg: VGG16, x: torch.Tensor) -> None:
    assert len(vgg.layers) == 16
    kinds = [type(b) for b in vgg.layers]
    assert kinds == [ConvBlock] * 13 + [LinearBlock] * 3
    assert sum(isinstance(m, nn.Conv2d) for m in vgg.modules()) == 13
    assert sum(isinstance(m, nn.Linear) for m in vgg.modules()) == 3
    assert sum(isinstance(m, nn.MaxPool2d) for m in vgg.modules()) == 5
    with torch.no_grad():
        assert vgg(x).shape == (B, N)
        assert vgg.forward_until(x, 13).shape == (B, 512, 1, 1)  # CIFAR head: 512×1×1 after the last pool


def test_vgg_forward_until_from_compose(vgg: VGG16, x: torch.Tensor) -> None:
    vgg.eval()
    with torch.no_grad():
        full = vgg(x)
        for k in range(17):
            torch.testing.assert_close(vgg.forward_from(vgg.forward_until(x, k), k), full)
    vgg.train()


def test_vgg_torchvision_head_matches_torchvision_parameter_count() -> None:
    # torchvision.models.vgg16_bn(num_classes=1000) has 138,365,992 parameters.
    m = VGG16(num_classes=1000, classifier="torchvision")
    assert n_params(m) == 138_365_992
    assert m.layers[13].linear.in_features == 512 * 7 * 7
    with torch.no_grad():
        assert m(torch.randn(2, 3, 32, 32)).shape == (2, 1000)


def test_vgg_cifar_parameter_count(vgg: VGG16) -> None:
    # 13 convs with bias + BN (14,723,136 for VGG16-BN features) + 512·512+512 + 512·512+512 + 512·N+N.
    assert n_params(vgg) == 14_723_136 + 2 * (512 * 512 + 512) + 512 * N + N


@pytest.mark.parametrize("d", range(1, 17))
def test_make_tail_shapes_every_depth(vgg: VGG16, x: torch.Tensor, d: int) -> None:
    n = 3
    start = 16 - d
    tail = vgg.make_tail(start, N * n)
    assert len(tail.layers) == d
    with torch.no_grad():
        h = vgg.forward_until(x, start)
        out = tail(h).reshape(B, N, n)
    assert out.shape == (B, N, n)


def test_make_tail_is_freshly_initialised(vgg: VGG16) -> None:
    # d = 5: the copied blocks have the same widths as the backbone's, so weights can be compared.
    tail = vgg.make_tail(11, N, generator=make_generator(0, "rnd-heads"))
    for copy, orig in zip(tail.layers, vgg.layers[11:], strict=True):
        for (name, p), (_, q) in zip(copy.named_parameters(), orig.named_parameters(), strict=True):
            assert p.shape == q.shape
            assert p.data_ptr() != q.data_ptr()
            if name.endswith("weight") and p.dim() > 1:
                assert not torch.equal(p, q), name


def test_width_multiplier_widens_hidden_layers_only(vgg: VGG16) -> None:
    out = 2 * N
    tail = vgg.make_tail(13, out, width_multiplier=2.0)  # d = 3: the three FC layers
    lin = [b.linear for b in tail.layers]
    assert [(m.in_features, m.out_features) for m in lin] == [(512, 1024), (1024, 1024), (1024, out)]
    tail5 = vgg.make_tail(11, out, width_multiplier=0.5)  # d = 5: convs 12, 13 and the FCs
    assert tail5.layers[0].conv.in_channels == 512  # reads the backbone's activation unchanged
    assert tail5.layers[0].conv.out_channels == 256
    assert tail5.layers[2].linear.in_features == 256
    assert tail5.layers[-1].linear.out_features == out
    # d = 1 has no hidden layer: the multiplier changes nothing.
    assert n_params(vgg.make_tail(15, out, width_multiplier=3.0)) == 512 * out + out


def test_grouped_tail_equals_independent_copies(vgg: VGG16) -> None:
    """G fused copies (per-class tails) compute exactly what G separate tails with the same weights do."""
    G, out, start = 2, 3, 11
    fused = vgg.make_tail(start, out, groups=G, generator=make_generator(0, "g"))
    assert isinstance(fused.layers[2].linear, GroupedLinear)
    h = torch.randn(B, 512, 2, 2)
    singles = []
    for j in range(G):
        single = vgg.make_tail(start, out)
        fused_params = dict(fused.named_parameters())
        with torch.no_grad():
            for name, p in single.named_parameters():
                q = fused_params[name]
                p.copy_(q[j] if q.dim() == p.dim() + 1 else q[j * p.shape[0] : (j + 1) * p.shape[0]])
        singles.append(single(h))
    torch.testing.assert_close(fused(h), torch.cat(singles, dim=1))


def test_wrn16_4_parameter_count_and_shapes() -> None:
    m = wrn16_4(num_classes=100)
    # Our count: 2,772,020 for CIFAR-100 (2,748,890 for CIFAR-10; the WRN paper lists WRN-16-4 as 2.7M).
    assert n_params(m) == 2_772_020
    assert 2.7e6 <= n_params(m) <= 2.8e6
    assert n_params(wrn16_4(num_classes=10)) == 2_748_890
    assert m.feature_dim == 256
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert m.features(x).shape == (2, 256)
        assert m(x).shape == (2, 100)
        torch.testing.assert_close(m.classifier(m.features(x)), m(x))
    assert isinstance(m.classifier, nn.Linear)


def test_wrn_options_and_tail() -> None:
    m = WideResNet(depth=10, width=1, num_classes=7, dropout=0.3)
    assert m.feature_dim == 64
    assert sum(isinstance(b, nn.Dropout) for b in m.modules()) == 3  # one per block, 1 block per group
    head = m.make_tail(1, 6, groups=7)
    assert (head.in_features, head.out_features) == (64, 42)
    with pytest.raises(ValueError):
        m.make_tail(0, 6)
    with pytest.raises(ValueError):
        WideResNet(depth=15)


def test_init_is_a_function_of_the_generator() -> None:
    a = WideResNet(depth=10, width=1, generator=make_generator(3, "init"))
    b = WideResNet(depth=10, width=1, generator=make_generator(3, "init"))
    c = WideResNet(depth=10, width=1, generator=make_generator(4, "init"))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    assert not torch.equal(a.conv1.weight, c.conv1.weight)
