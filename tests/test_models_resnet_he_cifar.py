"""ResNet-20 with option-A shortcuts (seed 003's CIFAR table, Idelbayev 2020) and per-ReLU activity hooks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from labelrepro.models.resnet_he_cifar import BasicBlockA, OptionAShortcut, ResNetHeCifar, resnet20
from labelrepro.papers.sparsity.metrics import ReluActivity


def test_resnet20_parameter_count():
    # 16*3*9 + 2*16 (stem) + stage 1: 3 blocks x 2 x (16*16*9 + 2*16) + stage 2: 32*16*9 + 5*32*32*9
    # + 6*2*32 + stage 3: 64*32*9 + 5*64*64*9 + 6*2*64 + linear 64*10 + 10 = 269,722 ("0.27M")
    model = resnet20()
    assert sum(p.numel() for p in model.parameters()) == 269_722
    assert len(model.relu_layers()) == 1 + 2 * 9  # the stem's and two per block


def test_option_a_shortcut_shapes_and_values():
    x = torch.arange(2 * 16 * 4 * 4, dtype=torch.float32).reshape(2, 16, 4, 4)
    out = OptionAShortcut(8)(x)
    assert out.shape == (2, 32, 2, 2)
    assert out[:, :8].abs().sum() == 0 and out[:, 24:].abs().sum() == 0  # zero padding, planes/4 each side
    assert torch.equal(out[:, 8:24], x[:, :, ::2, ::2])  # subsampled with stride 2
    block = BasicBlockA(16, 32, stride=2)
    assert isinstance(block.shortcut, OptionAShortcut)
    assert block(torch.randn(2, 16, 8, 8)).shape == (2, 32, 4, 4)
    assert sum(p.numel() for p in block.shortcut.parameters()) == 0
    with pytest.raises(ValueError, match="option A"):
        BasicBlockA(16, 48, stride=2)


def test_penultimate_layer_has_4096_units():
    model = resnet20().eval()
    with ReluActivity(model.relu_layers()) as activity:
        logits = model(torch.randn(3, 3, 32, 32))
    assert logits.shape == (3, 10)
    name, _ = model.relu_layers()[-1]
    assert activity.units[name] == 64 * 8 * 8 and activity.inputs[name] == 3
    assert all(0.0 <= f <= 1.0 for f in activity.fractions().values())


def test_initialisation_depends_only_on_the_generator():
    a = resnet20(generator=torch.Generator().manual_seed(3))
    b = resnet20(generator=torch.Generator().manual_seed(3))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    with pytest.raises(ValueError, match="6n"):
        ResNetHeCifar(depth=21)


def test_relu_activity_by_hand():
    # x -> ReLU(W x) with W = [[1, 0], [0, 1], [-1, -1]] -> ReLU(V h) with V = [[1, -1]].
    # x = (1, 2): h = (1, 2, 0) -> 2/3 active; V h = -1 -> 0 active.
    # x = (2, -1): h = (2, 0, 0) -> 1/3 active; V h = 2 -> 1 active.
    # Layer means over the two inputs: 1/2 and 1/2.
    first, second = nn.Linear(2, 3, bias=False), nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
        second.weight.copy_(torch.tensor([[1.0, -1.0, 0.0]]))
    net = nn.Sequential(first, nn.ReLU(), second, nn.ReLU())
    layers = [("hidden", net[1]), ("out", net[3])]
    with ReluActivity(layers) as activity:
        net(torch.tensor([[1.0, 2.0]]))
        net(torch.tensor([[2.0, -1.0]]))
    assert activity.fractions() == pytest.approx({"hidden": 0.5, "out": 0.5})
    assert activity.units == {"hidden": 3, "out": 1}
    net(torch.tensor([[1.0, 2.0]]))  # hooks removed on exit
    assert activity.inputs == {"hidden": 2, "out": 2}
