"""HAR baseline (Cao et al. 2021, kaidic/HAR) as used in ALASCA's Table 3: the penalty on the gradients at
the normalised batch-norm outputs, the per-class strengths of weight_est.py, the held-out split."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labelrepro.models.resnet_cifar import resnet34_cifar
from labelrepro.papers.alasca.har import (
    NormalisedOutputBatchNorm2d,
    class_strengths,
    expose_block_normalised_outputs_,
    gradient_norm_penalty,
    har_loss,
    heldout_class_error,
    holdout_split,
    take_normalised_outputs,
)


class TinyNet(nn.Module):
    """1×1 conv (2 → 2 channels) → BN (exposed) → ReLU → flatten → linear (2 → 3): a 2-layer net, one BN."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(2)
        self.bn.__class__ = NormalisedOutputBatchNorm2d
        self.linear = nn.Linear(2, 3)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([[1.0, 0.5], [-1.0, 2.0]]).view(2, 2, 1, 1))
            self.bn.weight.copy_(torch.tensor([2.0, 0.5]))
            self.bn.bias.copy_(torch.tensor([0.1, 0.3]))
            self.linear.weight.copy_(torch.tensor([[1.0, -1.0], [0.5, 2.0], [-2.0, 1.0]]))
            self.linear.bias.copy_(torch.tensor([0.0, 0.1, -0.1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.relu(self.bn(self.conv(x))).flatten(1))


X = torch.tensor([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0], [-2.0, 0.5]]).view(4, 2, 1, 1)
Y = torch.tensor([0, 2, 1, 0])


def test_penalty_of_a_one_bn_net_against_a_hand_computation() -> None:
    net = TinyNet().double()
    x = X.double()
    logits = net(x)
    (xhat,) = take_normalised_outputs(net)
    assert net.bn.normalised is None  # released from the module
    # x̂ is the plain batch normalisation of the conv output (biased batch variance, eps 1e-5)
    h = (x.flatten(1) @ net.conv.weight.view(2, 2).T).detach()
    expected_xhat = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + 1e-5)
    assert torch.allclose(xhat.flatten(1), expected_xhat)
    # ∂(mean CE)/∂x̂_i = γ ⊙ 1[γx̂ + β > 0] ⊙ Wᵀ(p_i − e_{y_i}) / B, by hand (no autograd)
    gamma, beta = net.bn.weight.detach(), net.bn.bias.detach()
    pre = gamma * expected_xhat + beta
    p = torch.softmax(torch.relu(pre) @ net.linear.weight.detach().T + net.linear.bias.detach(), 1)
    residual = p - F.one_hot(Y, 3).double()
    g = gamma * (pre > 0).double() * (residual @ net.linear.weight.detach()) / 4
    norms = g.norm(dim=1)  # L2 norm, not squared
    ce = F.cross_entropy(logits, Y)
    assert torch.allclose(gradient_norm_penalty(ce, [xhat]), norms)
    strengths = torch.tensor([1.0, 0.25, 0.5], dtype=torch.float64)
    logits = net(x)
    loss, penalty = har_loss(logits, Y, take_normalised_outputs(net), strengths, reg_weight=10.0)
    weighted = (strengths[Y] * norms).mean()  # each sample weighted by its (given) class's strength
    assert penalty.item() == pytest.approx(weighted.item(), rel=1e-12)
    assert loss.item() == pytest.approx(ce.item() + 10.0 * weighted.item(), rel=1e-12)


def test_penalty_is_differentiated_through_double_backprop() -> None:
    """The penalty's gradient w.r.t. the weights (create_graph) matches finite differences."""
    net = TinyNet().double()
    strengths = torch.tensor([1.0, 0.25, 0.5], dtype=torch.float64)

    def total_loss() -> torch.Tensor:
        logits = net(X.double())
        return har_loss(logits, Y, take_normalised_outputs(net), strengths, reg_weight=3.0)[0]

    net.zero_grad()
    total_loss().backward()
    analytic = net.linear.weight.grad.clone()
    numeric = torch.zeros_like(analytic)
    eps = 1e-6
    w = net.linear.weight
    for i in range(3):
        for j in range(2):  # the penalty needs gradients recorded, so perturb under no_grad only
            with torch.no_grad():
                w[i, j] += eps
            up = total_loss().item()
            with torch.no_grad():
                w[i, j] -= 2 * eps
            down = total_loss().item()
            with torch.no_grad():
                w[i, j] += eps
            numeric[i, j] = (up - down) / (2 * eps)
    assert torch.allclose(analytic, numeric, atol=1e-6)
    # without the penalty (reg_weight 0) the gradient differs: the penalty really trains the weights
    net.zero_grad()
    logits = net(X.double())
    har_loss(logits, Y, take_normalised_outputs(net), strengths, reg_weight=0.0)[0].backward()
    assert not torch.allclose(net.linear.weight.grad, analytic)


def test_exposed_batch_norm_is_the_same_layer() -> None:
    """Converted BNs compute what nn.BatchNorm2d computes (outputs, running statistics, state_dict keys),
    and only bn1/bn2 of the residual blocks are converted (not the stem or the projection shortcuts)."""
    plain = resnet34_cifar(10, generator=torch.Generator().manual_seed(0), base_width=2)
    exposed = resnet34_cifar(10, generator=torch.Generator().manual_seed(0), base_width=2)
    converted = expose_block_normalised_outputs_(exposed)
    assert len(converted) == 2 * (3 + 4 + 6 + 3)  # 32 for ResNet-34
    assert type(exposed.bn1) is nn.BatchNorm2d
    assert all(type(block.shortcut[1]) is nn.BatchNorm2d for stage in exposed.stages for block in stage
               if isinstance(block.shortcut, nn.Sequential))
    assert list(plain.state_dict()) == list(exposed.state_dict())
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(plain(x), exposed(x), atol=1e-5)
    assert len(take_normalised_outputs(exposed)) == 32
    for (name, a), b in zip(plain.state_dict().items(), exposed.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name
    plain.eval()
    exposed.eval()
    with torch.no_grad():
        assert torch.allclose(plain(x), exposed(x), atol=1e-5)
    assert take_normalised_outputs(exposed) == []  # nothing kept without gradients


def test_class_strengths_by_hand() -> None:
    # held-out part: class 0: 4 samples, 3 right (err 1/4); class 1: 2 samples, none right (err 1);
    # class 2: 4 samples, all right (err 0)
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    preds = torch.tensor([0, 0, 0, 2, 0, 2, 2, 2, 2, 2])
    err = heldout_class_error(preds, labels, 3)
    assert err.tolist() == pytest.approx([0.25, 1.0, 0.0])
    counts = torch.tensor([10, 5, 20])  # given labels over the whole training set
    s = class_strengths(err, counts, err_power=0.6, count_power=0.4)
    s0 = 0.25**0.6 / 10**0.4  # 0.43528 / 2.51189 = 0.17329
    s1 = 1.0 / 5**0.4  # 1 / 1.90365 = 0.52531 (the largest: normalised to 1)
    assert s.tolist() == pytest.approx([s0 / s1, 1.0, 0.0], rel=1e-6)
    assert s[0].item() == pytest.approx(0.32988, abs=1e-5)
    # a class with no training sample gets 0; one without held-out samples the overall held-out error
    assert class_strengths(torch.tensor([0.5, 0.5]), torch.tensor([4, 0])).tolist() == [1.0, 0.0]
    err = heldout_class_error(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 3)
    assert err.tolist() == pytest.approx([0.5, 0.0, 1 / 3])
    assert torch.equal(class_strengths(torch.zeros(3), torch.ones(3)), torch.zeros(3))
    with pytest.raises(ValueError):
        class_strengths(err, counts, err_power=-1.0)


def test_holdout_split_halves_like_the_official_split() -> None:
    fit, heldout = holdout_split(11, 0.5, torch.Generator().manual_seed(0))
    assert len(fit) == 5 and len(heldout) == 6  # ⌊n/2⌋ to fit, as utils.split_dataset
    assert sorted(torch.cat([fit, heldout]).tolist()) == list(range(11))
    again = holdout_split(11, 0.5, torch.Generator().manual_seed(0))
    assert torch.equal(fit, again[0])
    with pytest.raises(ValueError):
        holdout_split(11, 1.0, torch.Generator())
    assert math.floor(0.25 * 8) == len(holdout_split(8, 0.75, torch.Generator())[0])
