"""Seed 000's regularisers and variant (issue 14): the paper's label smoothing against A.4 Eq. 2 and
Eq. 3, dropout's place in a WRN block, weight decay on/off the random-label heads, and the single-output
variant's gradient routing (A.5). Every expected value is computed by hand from the paper's formulas."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labelrepro.core.config import ConfigError, settings_from_dict
from labelrepro.losses.label_smoothing import label_smoothing_cross_entropy
from labelrepro.models.wrn import PreActBlock, WideResNet
from labelrepro.papers.random_labels import trainer as random_labels
from labelrepro.papers.random_labels.heads import RandomLabelHeadsNet, random_label_losses

# Class probabilities (0.1, 0.2, 0.3, 0.4): logits ln(1..4) give them exactly.
LOGITS = torch.log(torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=torch.float64))
P = [0.1, 0.2, 0.3, 0.4]


@pytest.mark.parametrize("s", [0, 3])
@pytest.mark.parametrize("delta", [0.0, 0.1, 0.3])
def test_label_smoothing_is_a4_eq2_and_eq3(s: int, delta: float) -> None:
    big_n = len(P)
    others = delta / (big_n - 1)
    eq2 = -(1 - delta) * math.log(P[s]) - sum(others * math.log(P[i]) for i in range(big_n) if i != s)
    eq3 = -(1 - delta - delta / (big_n - 1)) * math.log(P[s]) - sum(
        delta / (big_n - 1) * math.log(P[i]) for i in range(big_n)
    )
    assert eq2 == pytest.approx(eq3, rel=1e-12)  # the paper's reformulation holds
    got = label_smoothing_cross_entropy(LOGITS, torch.tensor([s]), delta, "others").item()
    assert got == pytest.approx(eq2, rel=1e-6)  # the targets are built in float32
    if delta == 0.0:  # Eq. 4: plain cross-entropy
        assert got == pytest.approx(-math.log(P[s]), rel=1e-6)


def test_label_smoothing_by_hand_value_and_not_pytorchs() -> None:
    # δ = 0.3, s = 3, N = 4: −0.7 ln 0.4 − 0.1 (ln 0.1 + ln 0.2 + ln 0.3) = 1.1530038...
    got = label_smoothing_cross_entropy(LOGITS, torch.tensor([3]), 0.3, "others").item()
    assert got == pytest.approx(1.1530038, abs=1e-6)
    # PyTorch's label_smoothing puts δ/N on every class (0.775 on the label here), a different loss.
    torch_ls = F.cross_entropy(LOGITS, torch.tensor([3]), label_smoothing=0.3).item()
    assert torch_ls == pytest.approx(-(0.775 * math.log(0.4) + 0.075 * math.log(0.1 * 0.2 * 0.3)), abs=1e-9)
    assert abs(torch_ls - got) > 1e-3


def test_random_label_losses_smooth_the_class_loss_only() -> None:
    torch.manual_seed(0)
    net = RandomLabelHeadsNet(WideResNet(10, 1, num_classes=4), 4, 3)
    x, y, s = torch.randn(6, 3, 32, 32), torch.tensor([0, 1, 2, 3, 0, 1]), torch.tensor([0, 1, 2, 0, 1, 2])
    out = net(x)
    plain = random_label_losses(out, y, s, lam=0.5)
    smooth = random_label_losses(out, y, s, lam=0.5, label_smoothing=0.3)
    expected = label_smoothing_cross_entropy(out.logits, y, 0.3, "others")
    torch.testing.assert_close(smooth["class"], expected)
    torch.testing.assert_close(smooth["rnd"], plain["rnd"])
    torch.testing.assert_close(smooth["reg"], plain["reg"])
    torch.testing.assert_close(smooth["loss"], expected + plain["rnd"] + 0.5 * plain["reg"])


def test_dropout_sits_between_the_two_convolutions_of_a_block() -> None:
    torch.manual_seed(0)
    block = PreActBlock(8, 8, 1, dropout=0.5).train()
    seen: dict[str, torch.Tensor] = {}
    block.bn2.register_forward_hook(lambda m, i, o: seen.__setitem__("bn2_out", o))
    block.dropout.register_forward_hook(lambda m, i, o: seen.update(drop_in=i[0], drop_out=o))
    block.conv2.register_forward_pre_hook(lambda m, i: seen.__setitem__("conv2_in", i[0]))
    x = torch.randn(4, 8, 6, 6)
    block(x)
    assert isinstance(block.dropout, nn.Dropout) and block.dropout.p == 0.5
    torch.testing.assert_close(seen["drop_in"], torch.relu(seen["bn2_out"]))  # after conv1 → BN → ReLU
    assert seen["conv2_in"] is seen["drop_out"]                               # ... and before conv2
    dropped = (seen["drop_out"] == 0) & (seen["drop_in"] != 0)
    assert 0.3 < dropped.float().mean().item() / (seen["drop_in"] != 0).float().mean().item() < 0.7
    kept = seen["drop_out"] != 0
    torch.testing.assert_close(seen["drop_out"][kept], 2 * seen["drop_in"][kept])  # inverted dropout, 1/(1-p)


def test_dropout_off_is_the_unchanged_network_and_eval_ignores_it() -> None:
    plain = WideResNet(10, 1, num_classes=5, generator=torch.Generator().manual_seed(1))
    assert all(isinstance(b.dropout, nn.Identity) for g in plain.blocks for b in g)
    dropped = WideResNet(10, 1, num_classes=5, dropout=0.3, generator=torch.Generator().manual_seed(1))
    assert sum(isinstance(m, nn.Dropout) for m in dropped.modules()) == 3  # one per block of WRN-10-1
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(dropped.eval()(x), plain.eval()(x))  # same weights; dropout off in eval


def _settings(**over):
    base = {"model": "wrn16_4", "wrn_width": 1, "num_random_labels": 3, "epochs": 1, "batch_size": 4,
            "lr": 0.1, "momentum": 0.0, "weight_decay": 0.01}
    return settings_from_dict(random_labels.Settings, {**base, **over}, "test")


@pytest.mark.parametrize("head_decay", [False, True])
def test_weight_decay_on_or_off_the_heads(head_decay: bool) -> None:
    settings = _settings(head_weight_decay=head_decay, dropout=0.2)
    net = random_labels.build_network(settings, 4, seed=0)
    assert sum(isinstance(m, nn.Dropout) for m in net.modules()) == 6  # WRN-16: 6 blocks
    groups = random_labels.parameter_groups(net, settings)
    heads = {id(p) for p in net.heads.parameters()}
    assert {id(p) for p in groups[1]["params"]} == heads
    assert not heads & {id(p) for p in groups[0]["params"]}
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(list(net.parameters()))
    assert groups[0]["weight_decay"] == 0.01 and groups[1]["weight_decay"] == (0.01 if head_decay else 0.0)
    # One SGD step with zero loss gradients: only decayed parameters shrink, by the factor 1 − lr·wd.
    optimizer = torch.optim.SGD(groups, lr=0.1, momentum=0.0)
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    for name, p in net.named_parameters():
        decayed = head_decay or not name.startswith("heads.")
        torch.testing.assert_close(p.detach(), before[name] * (1 - 0.1 * 0.01 if decayed else 1.0))


def test_single_output_gradients_backbone_from_reg_heads_from_rnd() -> None:
    torch.manual_seed(0)
    wrn = WideResNet(10, 1, num_classes=4)
    net = RandomLabelHeadsNet(wrn, 4, 3, single_output=True)
    x, y, s = torch.randn(6, 3, 32, 32), torch.tensor([0, 1, 2, 3, 0, 1]), torch.tensor([0, 1, 2, 0, 1, 2])
    parts = random_label_losses(net(x), y, s, lam=1.0)
    backbone = [p for n, p in wrn.named_parameters() if not n.startswith("classifier.")]
    heads = list(net.heads.parameters())

    def grads(loss: torch.Tensor, params: list[torch.Tensor]) -> list[torch.Tensor]:
        found = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        return [torch.zeros_like(p) if g is None else g for p, g in zip(params, found, strict=True)]

    for total, reg in zip(grads(parts["loss"], backbone), grads(parts["reg"], backbone), strict=True):
        torch.testing.assert_close(total, reg)
    for total, rnd in zip(grads(parts["loss"], heads), grads(parts["rnd"], heads), strict=True):
        torch.testing.assert_close(total, rnd)
    assert all(g.abs().sum() == 0 for g in grads(parts["rnd"], backbone))
    assert all(g.abs().sum() == 0 for g in grads(parts["reg"], heads))
    assert any(g.abs().sum() > 0 for g in grads(parts["reg"], backbone))


def test_bad_regulariser_settings_name_the_key() -> None:
    with pytest.raises(ConfigError, match="dropout"):
        _settings(model="vgg16", wrn_width=4, dropout=0.1)
    with pytest.raises(ConfigError, match="label_smoothing"):
        _settings(single_output=True, lam=1.0, label_smoothing=0.1)
    with pytest.raises(ConfigError, match="label_smoothing"):
        _settings(label_smoothing=1.0)
    with pytest.raises(ConfigError, match="wrn_width"):
        _settings(model="vgg16", wrn_width=2)
    with pytest.raises(ConfigError, match="wrn_depth"):
        _settings(wrn_depth=12)
    net = random_labels.build_network(_settings(wrn_depth=10), 4, seed=0)
    assert sum(isinstance(m, PreActBlock) for m in net.modules()) == 3  # WRN-10: one block per group
