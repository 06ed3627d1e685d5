"""Seed 000, copy depth: per-class tails (all copies vs class-routed), their sizes, and the single-output
variant's gradients (A.5)."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from labelrepro.core.config import ConfigError, settings_from_dict
from labelrepro.core.seeding import make_generator
from labelrepro.engine import optim
from labelrepro.models.vgg import VGG16, GroupedLinear, LinearBlock
from labelrepro.models.wrn import WideResNet
from labelrepro.papers.random_labels import trainer as random_labels
from labelrepro.papers.random_labels.heads import (
    RandomLabelHeadsNet,
    random_label_accuracy,
    random_label_losses,
    true_group,
)


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# ------------------------------------------------------------------ sizes (hand-computed)
def test_tail_parameter_counts_at_d3_for_fig3a() -> None:
    """N = 100 classes, n = 2 random labels, d = 3 (the three FC layers of the CIFAR head, 512 wide).

    One copy: (512·512 + 512) + (512·512 + 512) + (512·2 + 2) = 262,656 + 262,656 + 1,026 = 526,338.
    Per-class tails: 100 copies = 52,633,800. Shared tail: one copy whose last layer emits N·n = 200:
    262,656 + 262,656 + (512·200 + 200 = 102,600) = 627,912 (83.8× fewer).
    """
    vgg = VGG16(num_classes=100)
    shared = RandomLabelHeadsNet(vgg, 100, 2, copy_depth=3, tail_mode="shared").heads
    per_class = RandomLabelHeadsNet(vgg, 100, 2, copy_depth=3, tail_mode="per_class").heads
    routed = RandomLabelHeadsNet(vgg, 100, 2, copy_depth=3, tail_mode="per_class_routed").heads
    assert n_params(shared) == 627_912
    assert n_params(per_class) == 52_633_800 == 100 * 526_338
    assert [p.shape for p in routed.parameters()] == [p.shape for p in per_class.parameters()]


def test_tail_parameter_counts_at_d4_small() -> None:
    """d = 4 adds conv block 12 (512→512, 3×3, bias, BN): 512·512·9 + 512 + 2·512 = 2,360,832 per copy.

    N = 3, n = 2: one copy = 2,360,832 + 262,656 + 262,656 + (512·2 + 2) = 2,887,170; 3 copies = 8,661,510.
    """
    vgg = VGG16(num_classes=3)
    per_class = RandomLabelHeadsNet(vgg, 3, 2, copy_depth=4, tail_mode="per_class_routed").heads
    assert n_params(per_class) == 8_661_510


# ------------------------------------------------------------------ routed = all copies, selected
def test_grouped_linear_block_per_copy_forward_by_hand() -> None:
    """2 copies of a 2→1 linear (no ReLU): the routed per-copy forward and the fused one agree by hand."""
    block = LinearBlock(2, 1, hidden=False, flatten_from=None, dropout=0.0, init_std=None, groups=2)
    assert isinstance(block.linear, GroupedLinear)
    with torch.no_grad():
        block.linear.weight.copy_(torch.tensor([[[1.0, 2.0]], [[-1.0, 3.0]]]))
        block.linear.bias.copy_(torch.tensor([[0.5], [-0.5]]))
    x = torch.tensor([[1.0, 1.0]])
    params = block.group_parameters(2)
    assert block.forward_group(x, 0, params[0]).item() == 3.5  # 1 + 2 + 0.5
    assert block.forward_group(x, 1, params[1]).item() == 1.5  # −1 + 3 − 0.5
    # The fused forward reads chunk g of the input for copy g: (1, 1 | 1, 1) → (3.5, 1.5).
    assert block(torch.ones(1, 4)).tolist() == [[3.5, 1.5]]
    # A shared-input first layer (all copies read the same 2 inputs) is one linear of 2·1 rows.
    first = LinearBlock(2, 1, hidden=False, flatten_from=None, dropout=0.0, init_std=None, groups=2,
                        shared_input=True)
    with torch.no_grad():
        first.linear.weight.copy_(torch.tensor([[1.0, 2.0], [-1.0, 3.0]]))
        first.linear.bias.copy_(torch.tensor([0.5, -0.5]))
    assert first(x).tolist() == [[3.5, 1.5]]
    assert first.forward_group(x, 1, first.group_parameters(2)[1]).item() == 1.5


N, n = 3, 2
Y = torch.tensor([2, 0, 2, 1, 0, 2])  # class 2 three times, 0 twice, 1 once
S = torch.tensor([1, 0, 0, 1, 1, 0])


def _x() -> torch.Tensor:
    return torch.randn(len(Y), 3, 32, 32, generator=torch.Generator().manual_seed(0))


@functools.cache
def _vgg() -> VGG16:
    return VGG16(num_classes=N, generator=make_generator(0, "init"))


def _pair(d: int) -> tuple[RandomLabelHeadsNet, RandomLabelHeadsNet]:
    """The same backbone and identical per-class copies, one routed and one running all copies."""
    vgg = _vgg()
    vgg.train()
    routed = RandomLabelHeadsNet(vgg, N, n, copy_depth=d, tail_mode="per_class_routed",
                                 generator=make_generator(0, "heads"))
    every = RandomLabelHeadsNet(vgg, N, n, copy_depth=d, tail_mode="per_class")
    every.heads.load_state_dict(routed.heads.state_dict())
    return routed, every


def _grads(loss: torch.Tensor, params: list[nn.Parameter]) -> list[torch.Tensor]:
    g = torch.autograd.grad(loss, params, allow_unused=True)
    return [torch.zeros_like(p) if gi is None else gi for gi, p in zip(g, params, strict=True)]


@pytest.mark.parametrize("d", [1, 3])
def test_routed_equals_all_copies_loss_and_gradients_without_bn(d: int) -> None:
    """d ≤ 3 copies only FC layers (no batch norm): routing computes exactly the selected outputs, so the
    losses (per-group softmax, λ > 0 so both passes run) and every gradient agree."""
    routed, every = _pair(d)
    x = _x()
    out_r, out_a = routed(x, labels=Y), every(x)
    assert out_r.rnd_logits.shape == (len(Y), n) and out_a.rnd_logits.shape == (len(Y), N, n)
    torch.testing.assert_close(out_r.rnd_logits, true_group(out_a.rnd_logits, Y))
    loss_r = random_label_losses(out_r, Y, S, lam=0.7, normalization="group")
    loss_a = random_label_losses(out_a, Y, S, lam=0.7, normalization="group")
    for key in ("loss", "class", "rnd", "reg"):
        torch.testing.assert_close(loss_r[key], loss_a[key])
    for key in ("rnd", "reg"):
        g_r = _grads(loss_r[key], list(routed.parameters()))
        g_a = _grads(loss_a[key], list(every.parameters()))
        for a, b in zip(g_r, g_a, strict=True):
            torch.testing.assert_close(a, b)


def test_routed_bn_tail_equals_each_copy_on_its_own_class_sub_batch() -> None:
    """With batch norm in the copies (d = 5: convs 11, 12), training-mode routing normalises copy c over
    class c's samples: exactly the all-copies module applied to class c's sub-batch, group c selected."""
    routed, every = _pair(5)
    x = _x()
    h = routed.backbone.forward_until(x, routed.start).detach()
    out = routed.heads(h, labels=Y)
    for c in range(N):
        mask = torch.eq(Y, c)
        expected = every.heads(h[mask]).reshape(int(mask.sum()), N, n)[:, c]
        torch.testing.assert_close(out[mask], expected)


def test_routed_equals_all_copies_in_eval_mode_with_bn() -> None:
    """In evaluation mode BN uses running statistics, so routing is exact at any depth (the metric)."""
    routed, every = _pair(6)
    x = _x()
    routed.eval()
    every.eval()
    with torch.no_grad():
        torch.testing.assert_close(routed(x, with_reg=False, labels=Y).rnd_logits,
                                   true_group(every(x, with_reg=False).rnd_logits, Y))
        acc_r = random_label_accuracy(routed(x, labels=Y).rnd_logits, Y, S)
        acc_a = random_label_accuracy(every(x).rnd_logits, Y, S)
    assert acc_r == acc_a


def test_routed_bn_running_stats_move_only_for_present_classes() -> None:
    vgg = VGG16(num_classes=4, generator=make_generator(0, "init"))
    net = RandomLabelHeadsNet(vgg, 4, n, copy_depth=5, tail_mode="per_class_routed")
    bn = net.heads.layers[0].bn
    width = bn.num_features // 4
    net(_x(), labels=torch.tensor([0, 0, 2, 2, 2, 0]))  # classes 1 and 3 absent
    mean = bn.running_mean.reshape(4, width)
    assert mean[0].abs().sum() > 0 and mean[2].abs().sum() > 0
    assert mean[1].abs().sum() == 0 and mean[3].abs().sum() == 0
    assert bn.num_batches_tracked.item() == 1  # once per forward, as the fused forward counts


def test_routed_needs_labels_and_a_per_group_softmax() -> None:
    routed, _ = _pair(3)
    with pytest.raises(ValueError, match="pass labels=y"):
        routed(_x())
    out = routed(_x(), labels=Y)
    with pytest.raises(ValueError, match="use normalization 'group'"):
        random_label_losses(out, Y, S, lam=0.0, normalization="joint")
    base = {"model": "vgg16", "num_random_labels": 2, "epochs": 1, "batch_size": 8, "lr": 0.1,
            "copy_depth": 3, "tail_mode": "per_class_routed"}
    with pytest.raises(ConfigError, match="set normalization: group"):
        settings_from_dict(random_labels.Settings, base, "x")
    settings_from_dict(random_labels.Settings, {**base, "normalization": "group"}, "x")  # fine


def test_routed_wrn_head_selects_its_group() -> None:
    """WRN heads are one linear layer: routed = all groups computed, the true one selected."""
    wrn = WideResNet(depth=10, width=1, num_classes=N, generator=make_generator(0, "init"))
    routed = RandomLabelHeadsNet(wrn, N, n, tail_mode="per_class_routed")
    every = RandomLabelHeadsNet(wrn, N, n, tail_mode="per_class")
    every.heads.load_state_dict(routed.heads.state_dict())
    x = _x()
    torch.testing.assert_close(routed(x, labels=Y).rnd_logits, true_group(every(x).rnd_logits, Y))


# ------------------------------------------------------------------ single-output variant (A.5)
SINGLE = {"model": "wrn16_4", "num_random_labels": 3, "epochs": 1, "batch_size": 6, "lr": 0.1,
          "single_output": True}


def test_single_output_rejects_settings_that_leave_the_backbone_untrained() -> None:
    with pytest.raises(ConfigError, match=r"lam=0\.0 would give it no gradient at all: set lam: 1\.0"):
        settings_from_dict(random_labels.Settings, SINGLE, "x")  # λ defaults to 0
    with pytest.raises(ConfigError, match="set normalization: joint"):
        settings_from_dict(random_labels.Settings, {**SINGLE, "lam": 1.0, "normalization": "group"}, "x")
    with pytest.raises(ConfigError, match="set normalization: group"):
        settings_from_dict(random_labels.Settings,
                           {**SINGLE, "lam": 1.0, "model": "vgg16", "tail_mode": "per_class_routed"}, "x")
    settings_from_dict(random_labels.Settings, {**SINGLE, "lam": 1.0}, "x")  # A.5 as written


def test_single_output_loss_refuses_lam_zero() -> None:
    wrn_net = RandomLabelHeadsNet(WideResNet(depth=10, width=1, num_classes=N), N, n, single_output=True)
    with pytest.raises(ValueError, match="pass lam=1"):
        random_label_losses(wrn_net(_x()), Y, S, lam=0.0)


@pytest.mark.parametrize("model", ["wrn16_4", "vgg16"])
def test_single_output_trains_the_backbone_through_l_reg(model: str) -> None:
    """One real training step (the trainer's network and `train_step`): the feature extractor gets a
    non-zero gradient (from L_reg only) and moves; the unused class head gets none."""
    settings = settings_from_dict(random_labels.Settings, {**SINGLE, "lam": 1.0, "model": model,
                                                           "copy_depth": 2 if model == "vgg16" else 1},
                                  "x")
    net = random_labels.build_network(settings, N, seed=0)
    opt = optim.build_optimizer(settings, net.parameters())
    x = _x()
    if model == "vgg16":
        extractor = list(net.backbone.layers[: net.start].parameters())
        unused = list(net.backbone.layers[net.start :].parameters())
    else:
        unused = list(net.backbone.classifier.parameters())
        extractor = [p for p in net.backbone.parameters() if all(p is not q for q in unused)]
    before = [p.detach().clone() for p in extractor]
    losses = random_labels.train_step(net, opt, settings, x, Y, S, with_reg=True)
    assert torch.isfinite(losses["loss"])
    torch.testing.assert_close(losses["loss"], losses["rnd"] + losses["reg"])
    grads = [p.grad for p in extractor]
    assert all(g is not None for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0  # type: ignore[union-attr]
    assert any(not torch.equal(b, p) for b, p in zip(before, extractor, strict=True))
    assert all(p.grad is None or bool((p.grad == 0).all()) for p in unused)
