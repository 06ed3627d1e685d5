"""Random-label heads (seed 000): losses of §2 by hand, gradient routing, copy depth, metric, labels."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from labelrepro.core.seeding import make_generator
from labelrepro.models.vgg import VGG16
from labelrepro.models.wrn import WideResNet
from labelrepro.papers.random_labels.heads import (
    RandomLabelHeadsNet,
    RandomLabelOutputs,
    draw_random_labels,
    random_label_accuracy,
    random_label_losses,
)

LN = math.log


# ------------------------------------------------------------ losses on a hand-made example (N = 2, n = 2)
def hand_outputs() -> RandomLabelOutputs:
    logits = torch.tensor([[0.0, LN(3)], [LN(2), 0.0]])
    # rnd[b, j, i]: sample b, class group j, random label i.
    rnd = torch.tensor([[[0.0, 0.0], [LN(2), 0.0]], [[0.0, LN(3)], [0.0, 0.0]]])
    return RandomLabelOutputs(logits, rnd, rnd.clone(), torch.zeros(2, 1))


Y = torch.tensor([1, 0])
S = torch.tensor([0, 1])


def test_losses_by_hand_joint_normalisation() -> None:
    out = random_label_losses(hand_outputs(), Y, S, lam=0.5)
    # L_class: sample 0: p = softmax(0, ln3) = (1/4, 3/4), y=1 → −ln(3/4) = ln(4/3)
    #          sample 1: p = softmax(ln2, 0) = (2/3, 1/3), y=0 → −ln(2/3) = ln(3/2)
    l_class = (LN(4 / 3) + LN(3 / 2)) / 2
    # Joint softmax over all N·n = 4 outputs.
    # sample 0: exp = (1, 1 | 2, 1), sum 5; true group y=1 → (2/5, 1/5); s=0 → L_rnd = ln(5/2)
    #           L_reg = −½(ln(2/5) + ln(1/5)) = ln5 − ½ln2
    # sample 1: exp = (1, 3 | 1, 1), sum 6; true group y=0 → (1/6, 3/6); s=1 → L_rnd = −ln(1/2) = ln2
    #           L_reg = −½(ln(1/6) + ln(1/2)) = ½ln12
    l_rnd = (LN(5 / 2) + LN(2)) / 2
    l_reg = (LN(5) - LN(2) / 2 + LN(12) / 2) / 2
    assert out["class"].item() == pytest.approx(l_class, abs=1e-6)
    assert out["rnd"].item() == pytest.approx(l_rnd, abs=1e-6)
    assert out["reg"].item() == pytest.approx(l_reg, abs=1e-6)
    assert out["loss"].item() == pytest.approx(l_class + l_rnd + 0.5 * l_reg, abs=1e-6)


def test_losses_by_hand_group_normalisation() -> None:
    out = random_label_losses(hand_outputs(), Y, S, lam=2.0, normalization="group")
    l_class = (LN(4 / 3) + LN(3 / 2)) / 2
    # Softmax within the true class's group only.
    # sample 0: group 1 = (ln2, 0) → (2/3, 1/3); s=0 → ln(3/2); L_reg = −½(ln(2/3) + ln(1/3)) = ln3 − ½ln2
    # sample 1: group 0 = (0, ln3) → (1/4, 3/4); s=1 → ln(4/3); L_reg = −½(ln(1/4) + ln(3/4)) = ½ln(16/3)
    l_rnd = (LN(3 / 2) + LN(4 / 3)) / 2
    l_reg = (LN(3) - LN(2) / 2 + LN(16 / 3) / 2) / 2
    assert out["class"].item() == pytest.approx(l_class, abs=1e-6)
    assert out["rnd"].item() == pytest.approx(l_rnd, abs=1e-6)
    assert out["reg"].item() == pytest.approx(l_reg, abs=1e-6)
    assert out["loss"].item() == pytest.approx(l_class + l_rnd + 2.0 * l_reg, abs=1e-6)


def test_uniform_group_minimises_group_reg_at_log_n() -> None:
    # CE(uniform, uniform) = ln n: the lower bound of L_reg under per-group normalisation.
    n = 4
    rnd = torch.zeros(3, 2, n)
    out = random_label_losses(
        RandomLabelOutputs(torch.zeros(3, 2), rnd, rnd, torch.zeros(3, 1)),
        torch.tensor([0, 1, 1]),
        torch.tensor([0, 1, 3]),
        lam=1.0,
        normalization="group",
    )
    assert out["reg"].item() == pytest.approx(LN(n))


def test_lam_nonzero_requires_reg_pass() -> None:
    o = hand_outputs()
    o.rnd_logits_reg = None
    assert random_label_losses(o, Y, S, lam=0.0)["reg"].item() > 0  # still logged
    with pytest.raises(ValueError):
        random_label_losses(o, Y, S, lam=1.0)


# ---------------------------------------------------------------- metric and random labels
def test_random_label_accuracy_by_hand() -> None:
    rnd = torch.tensor(
        [
            [[5.0, 0.0, 0.0], [0.0, 0.0, 9.0]],  # y=0: group 0 predicts 0; s=0 → hit (group 1 is ignored)
            [[0.0, 9.0, 0.0], [0.0, 1.0, 2.0]],  # y=1: group 1 predicts 2; s=1 → miss
            [[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]],  # y=1: group 1 predicts 1; s=1 → hit
            [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]],  # y=0: group 0 predicts 2; s=0 → miss
        ]
    )
    assert random_label_accuracy(rnd, torch.tensor([0, 1, 1, 0]), torch.tensor([0, 1, 1, 0])) == 0.5


def test_draw_random_labels_deterministic_and_in_range() -> None:
    a = draw_random_labels(10_000, 10, seed=7)
    assert a.dtype == torch.long and a.shape == (10_000,)
    assert torch.equal(a, draw_random_labels(10_000, 10, seed=7))
    assert not torch.equal(a, draw_random_labels(10_000, 10, seed=8))
    assert a.min() >= 0 and a.max() <= 9
    assert set(a.tolist()) == set(range(10))
    counts = torch.bincount(a, minlength=10).float()
    assert (counts / 10_000 - 0.1).abs().max() < 0.02
    assert set(draw_random_labels(50, 2, seed=0).tolist()) <= {0, 1}


# ---------------------------------------------------------------- architecture
N, n, B = 4, 3, 4


def small_wrn() -> WideResNet:
    return WideResNet(depth=10, width=1, num_classes=N, generator=make_generator(0, "init"))


@pytest.fixture(scope="module")
def vgg() -> VGG16:
    return VGG16(num_classes=N, generator=make_generator(0, "init"))


def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, 3, 32, 32, generator=g)
    return x, torch.tensor([0, 1, 2, 1]), torch.tensor([2, 0, 1, 1])


@pytest.mark.parametrize("d", [1, 3, 6, 16])
@pytest.mark.parametrize("mode", ["shared", "per_class"])
def test_vgg_wrapper_shapes(vgg: VGG16, d: int, mode: str) -> None:
    net = RandomLabelHeadsNet(vgg, N, n, copy_depth=d, tail_mode=mode)  # type: ignore[arg-type]
    x, _, _ = batch()
    with torch.no_grad():
        out = net(x)
    assert out.logits.shape == (B, N)
    assert out.rnd_logits.shape == (B, N, n)
    assert out.rnd_logits_reg is not None
    torch.testing.assert_close(out.rnd_logits, out.rnd_logits_reg)  # same values, different routing
    assert net.start == 16 - d


def test_d1_shared_and_per_class_are_the_same_architecture(vgg: VGG16) -> None:
    # At d = 1, N per-class linear heads of n outputs = one linear of N·n outputs.
    shared = RandomLabelHeadsNet(vgg, N, n, copy_depth=1).heads
    per_class = RandomLabelHeadsNet(vgg, N, n, copy_depth=1, tail_mode="per_class").heads
    assert [p.shape for p in shared.parameters()] == [p.shape for p in per_class.parameters()]
    assert sum(p.numel() for p in shared.parameters()) == 512 * N * n + N * n


def test_wrn_wrapper_heads_on_last_features() -> None:
    m = small_wrn()
    net = RandomLabelHeadsNet(m, N, n, generator=make_generator(0, "rnd-heads"))
    assert isinstance(net.heads, nn.Linear) and net.heads.in_features == m.feature_dim
    assert net.heads.out_features == N * n
    x, _, _ = batch()
    out = net(x)
    assert out.features.shape == (B, m.feature_dim)
    assert out.rnd_logits.shape == (B, N, n)
    with pytest.raises(ValueError):
        RandomLabelHeadsNet(m, N, n, copy_depth=2)


def test_reg_pass_does_not_update_bn_running_stats_twice(vgg: VGG16) -> None:
    net = RandomLabelHeadsNet(vgg, N, n, copy_depth=4)
    x, _, _ = batch()
    net(x)
    bn = net.heads.layers[0].bn
    assert bn.num_batches_tracked.item() == 1


# ---------------------------------------------------------------- gradient routing
def grads(loss: torch.Tensor, params: list[nn.Parameter]) -> list[torch.Tensor]:
    g = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if gi is None else gi for gi, p in zip(g, params, strict=True)]


def all_zero(gs: list[torch.Tensor]) -> bool:
    return all(bool((g == 0).all()) for g in gs)


def routing_cases() -> list[tuple[str, RandomLabelHeadsNet, list[nn.Parameter], list[nn.Parameter]]]:
    """(name, net, feature-extractor params, backbone params after the cut) per backbone/copy depth."""
    cases = []
    wrn = small_wrn()
    net = RandomLabelHeadsNet(wrn, N, n)
    after = list(wrn.classifier.parameters())
    fe = [p for p in wrn.parameters() if all(p is not q for q in after)]
    cases.append(("wrn", net, fe, after))
    for d, mode in [(1, "shared"), (5, "shared"), (5, "per_class")]:
        vgg = VGG16(num_classes=N, generator=make_generator(d, "init"))
        net = RandomLabelHeadsNet(vgg, N, n, copy_depth=d, tail_mode=mode)  # type: ignore[arg-type]
        cases.append(
            (
                f"vgg-d{d}-{mode}",
                net,
                list(vgg.layers[: 16 - d].parameters()),
                list(vgg.layers[16 - d :].parameters()),
            )
        )
    return cases


@pytest.mark.parametrize("normalization", ["joint", "group"])
def test_gradient_routing(normalization: str) -> None:
    x, y, s = batch()
    for name, net, fe, after in routing_cases():
        heads = list(net.heads.parameters())
        out = net(x)
        parts = random_label_losses(out, y, s, lam=0.7, normalization=normalization)  # type: ignore[arg-type]
        total = parts["loss"]
        g_rnd_fe, g_rnd_after = grads(parts["rnd"], fe), grads(parts["rnd"], after)
        g_rnd_heads = grads(parts["rnd"], heads)
        g_reg_fe, g_reg_heads = grads(0.7 * parts["reg"], fe), grads(0.7 * parts["reg"], heads)
        g_reg_after = grads(parts["reg"], after)
        # (a) L_rnd never reaches the backbone;
        # (b) λ·L_reg never reaches the heads (nor the backbone's layers after the cut).
        assert all_zero(g_rnd_fe) and all_zero(g_rnd_after), name
        assert all_zero(g_reg_heads) and all_zero(g_reg_after), name
        # (c) ... but each does reach its own target.
        assert not all_zero(g_reg_fe), name
        assert not all_zero(g_rnd_heads), name
        # The total's gradients split exactly: heads ← L_rnd; feature extractor ← L_class + λ·L_reg.
        g_cls_fe = grads(parts["class"], fe)
        for gt, gc, gr in zip(grads(total, fe), g_cls_fe, g_reg_fe, strict=True):
            torch.testing.assert_close(gt, gc + gr)
        for gt, gr in zip(grads(total, heads), g_rnd_heads, strict=True):
            torch.testing.assert_close(gt, gr)


def test_lam_zero_backbone_gradient_is_class_gradient_only() -> None:
    x, y, s = batch()
    for name, net, fe, after in routing_cases():
        out = net(x)
        parts = random_label_losses(out, y, s, lam=0.0)
        backbone = fe + after
        for gt, gc in zip(grads(parts["loss"], backbone), grads(parts["class"], backbone), strict=True):
            torch.testing.assert_close(gt, gc, rtol=0, atol=0, msg=name)
        # The cheap forward (no reg pass) gives the same total.
        out2 = net(x, with_reg=False)
        assert out2.rnd_logits_reg is None
        torch.testing.assert_close(random_label_losses(out2, y, s, lam=0.0)["loss"], parts["loss"])


def test_single_output_variant_eq5() -> None:
    wrn = small_wrn()
    net = RandomLabelHeadsNet(wrn, N, n, single_output=True)
    x, y, s = batch()
    out = net(x)
    # Eq. 5: p̂_j^class = Σ_i p̂_i^j with p̂ the joint softmax over all N·n outputs.
    joint = torch.softmax(out.rnd_logits.reshape(B, N * n), dim=1).reshape(B, N, n).sum(-1)
    torch.testing.assert_close(torch.softmax(out.logits, dim=1), joint)
    parts = random_label_losses(out, y, s, lam=1.0)
    torch.testing.assert_close(parts["loss"], parts["rnd"] + parts["reg"])
    # No L_class: the unused class head gets nothing; the features learn from L_reg only.
    assert all_zero(grads(parts["loss"], list(wrn.classifier.parameters())))
    assert not all_zero(grads(parts["loss"], list(wrn.conv1.parameters())))
