"""CIFAR ResNet-34 and ALASCA auxiliary classifiers (seed 002)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from labelrepro.models.resnet_cifar import ResNetCifar, resnet34_cifar
from labelrepro.papers.alasca.auxiliary import AC_TYPES, BottleneckAC, ResidualAC, ResNetWithACs

B, N = 2, 10


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.fixture(scope="module")
def backbone() -> ResNetCifar:
    return resnet34_cifar(N, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(B, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def test_resnet34_parameter_count() -> None:
    # The standard CIFAR ResNet-34 ("21.3M"): 21,282,122 for 10 classes, +46,170 for 100 (90·513).
    n10 = n_params(resnet34_cifar(10))
    assert n10 == 21_282_122
    assert 21_250_000 < n10 < 21_350_000
    assert n_params(resnet34_cifar(100)) == 21_328_292


def test_resnet34_structure_and_shapes(backbone: ResNetCifar, x: torch.Tensor) -> None:
    assert [len(s) for s in backbone.stages] == [3, 4, 6, 3]
    assert not any(isinstance(m, nn.MaxPool2d) for m in backbone.modules())
    assert backbone.conv1.kernel_size == (3, 3) and backbone.conv1.stride == (1, 1)
    with torch.no_grad():
        feats = backbone.forward_features(x)
        assert [tuple(f.shape) for f in feats] == [
            (B, 64, 32, 32),
            (B, 128, 16, 16),
            (B, 256, 8, 8),
            (B, 512, 4, 4),
            (B, 512),
        ]
        torch.testing.assert_close(backbone(x), backbone.classify(feats[-1]))
        assert backbone(x).shape == (B, N)


def test_generator_makes_init_reproducible() -> None:
    a = resnet34_cifar(N, generator=torch.Generator().manual_seed(3))
    b = resnet34_cifar(N, generator=torch.Generator().manual_seed(3))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize("ac_type", AC_TYPES)
def test_ac_output_shapes_at_every_position(backbone: ResNetCifar, x: torch.Tensor, ac_type: str) -> None:
    model = ResNetWithACs(backbone, ac_type, (1, 2, 3))  # type: ignore[arg-type]
    with torch.no_grad():
        main, acs = model(x)
        assert main.shape == (B, N)
        assert len(acs) == 3 and all(a.shape == (B, N) for a in acs)
        feats = backbone.forward_features(x)
        for ac, p in zip(model.acs, model.positions, strict=True):
            # Conv ACs downsample stage p (k = 8, 4, 2) to the last stage's 4×4 resolution.
            if isinstance(ac, BottleneckAC):
                assert ac.body(feats[p - 1]).shape == (B, 512, 4, 4)
            elif isinstance(ac, ResidualAC):
                assert ac.block(feats[p - 1]).shape == (B, 512, 4, 4)
    single = ResNetWithACs(backbone, ac_type, (3,))  # type: ignore[arg-type]
    with torch.no_grad():
        _, acs3 = single(x)
    assert len(acs3) == 1 and acs3[0].shape == (B, N)


def test_invalid_positions_and_type(backbone: ResNetCifar) -> None:
    for bad in [(), (4,), (0,), (1, 1)]:
        with pytest.raises(ValueError, match="positions"):
            ResNetWithACs(backbone, "mlp", bad)
    with pytest.raises(ValueError, match="AC type"):
        ResNetWithACs(backbone, "linear", (3,))  # type: ignore[arg-type]


def test_ac_gradient_reaches_backbone_below_it_only(x: torch.Tensor) -> None:
    net = resnet34_cifar(N, generator=torch.Generator().manual_seed(0))
    model = ResNetWithACs(net, "bottleneck", (1,))
    _, acs = model(x)
    acs[0].sum().backward()  # AC loss only
    assert net.stages[0][0].conv1.weight.grad is not None  # stage 1 is regularised by the AC
    assert net.conv1.weight.grad is not None
    assert net.stages[1][0].conv1.weight.grad is None  # stages above the AC are untouched
    assert net.linear.weight.grad is None


@pytest.mark.parametrize("ac_type", AC_TYPES)
def test_base_width_scales_backbone_and_acs(x: torch.Tensor, ac_type: str) -> None:
    narrow = resnet34_cifar(N, generator=torch.Generator().manual_seed(0), base_width=8)
    assert narrow.stage_channels == (8, 16, 32, 64) and narrow.feature_dim == 64
    feats = narrow.forward_features(x)
    assert [tuple(f.shape) for f in feats] == [(B, 8, 32, 32), (B, 16, 16, 16), (B, 32, 8, 8), (B, 64, 4, 4),
                                               (B, 64)]
    # Same depth: as many conv layers as the full-width network.
    count = lambda m: sum(isinstance(k, nn.Conv2d) for k in m.modules())  # noqa: E731
    assert count(narrow) == count(resnet34_cifar(N))
    model = ResNetWithACs(narrow, ac_type, (1, 2, 3))  # type: ignore[arg-type]
    with torch.no_grad():
        _, acs = model(x)
    assert all(a.shape == (B, N) for a in acs)
    for ac, p in zip(model.acs, model.positions, strict=True):
        if isinstance(ac, BottleneckAC):
            assert ac.body(feats[p - 1]).shape == (B, 64, 4, 4)
            assert ac.body[0].out_channels == 16  # 2w, the bottleneck's 128 at w = 64
        elif isinstance(ac, ResidualAC):
            assert ac.block(feats[p - 1]).shape == (B, 64, 4, 4)
        elif hasattr(ac, "fc1"):  # the pooled-first MLP option
            assert ac.fc1.out_features == 64
        else:  # the official MLP AC: full-resolution 1x1 conv to 8w channels
            assert ac.body[0].out_channels == 64


def test_base_width_must_be_positive() -> None:
    with pytest.raises(ValueError, match="base_width"):
        resnet34_cifar(N, base_width=0)
