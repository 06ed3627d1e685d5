"""CDR baseline (Xia et al. 2021, xiaoboxia/CDR main.py::train_one_step) as used in ALASCA's Table 3:
one global ranking of |w·g| over the 2-D/4-D parameters, kept gradients × (1 − τ), weight decay after."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from labelrepro.papers.alasca.cdr import critical_mask, global_threshold, mask_noncritical_gradients_


class TwoTensors(nn.Module):
    """A 2-D and a 4-D weight (ranked) and a 1-D bias (never touched)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor([[1.0, -2.0], [0.5, 4.0]]))
        self.b = nn.Parameter(torch.tensor([0.5, -1.0]).view(1, 1, 1, 2))
        self.bias = nn.Parameter(torch.tensor([1.0, 2.0]))
        self.a.grad = torch.tensor([[4.0, 1.5], [-4.0, 0.25]])  # |w·g| = [[4, 3], [2, 1]]
        self.b.grad = torch.tensor([1.0, 0.25]).view(1, 1, 1, 2)  # |w·g| = [0.5, 0.25]
        self.bias.grad = torch.tensor([3.0, 3.0])


def test_global_ranking_differs_from_per_tensor_and_rescales() -> None:
    # τ = 0.5: n = 6 ranked entries, nz = int(0.5·6) = 3, threshold = 3rd largest score = 2:
    # a keeps 4, 3, 2 and b keeps nothing (per tensor, b would keep its 0.5)
    model = TwoTensors()
    assert global_threshold([model.a, model.b], 0.5).item() == 2.0
    fraction = mask_noncritical_gradients_(model, 0.5)
    assert fraction.item() == pytest.approx(3 / 6)
    assert model.a.grad.tolist() == [[2.0, 0.75], [-2.0, 0.0]]  # kept × (1 − τ) = 0.5
    assert model.b.grad.flatten().tolist() == [0.0, 0.0]
    assert model.bias.grad.tolist() == [3.0, 3.0]  # 1-D parameters are not ranked or scaled
    per_tensor = TwoTensors()
    mask_noncritical_gradients_(per_tensor, 0.5, ranking="per_tensor", rescale=False)
    assert per_tensor.a.grad.tolist() == [[4.0, 1.5], [0.0, 0.0]]  # ⌈0.5·4⌉ = 2 per tensor
    assert per_tensor.b.grad.flatten().tolist() == [1.0, 0.0]  # ⌈0.5·2⌉ = 1
    assert critical_mask(per_tensor.b, torch.tensor([1.0, 0.25]).view(1, 1, 1, 2), 0.5).sum() == 1
    with pytest.raises(ValueError):
        mask_noncritical_gradients_(TwoTensors(), 0.5, ranking="by_layer")  # type: ignore[arg-type]


def test_ties_at_the_threshold_are_kept_and_tau_zero_is_plain_sgd() -> None:
    model = TwoTensors()
    model.b.grad = torch.tensor([4.0, 8.0]).view(1, 1, 1, 2)  # |w·g| = [2, 8]: scores 4, 3, 2, 1, 2, 8
    # τ = 0.5: nz = 3, 3rd largest = 3; with τ = 1/3: nz = 4, threshold 2 → both 2s kept (5 of 6)
    assert mask_noncritical_gradients_(model, 1 / 3).item() == pytest.approx(1 / 6)
    assert model.a.grad[1, 1].item() == 0.0 and model.a.grad[1, 0].item() == pytest.approx(-4.0 * 2 / 3)
    plain = TwoTensors()
    assert mask_noncritical_gradients_(plain, 0.0).item() == 0.0
    assert plain.a.grad.tolist() == [[4.0, 1.5], [-4.0, 0.25]]  # everything kept, factor 1
    with pytest.raises(ValueError):
        mask_noncritical_gradients_(plain, 1.0)


def test_masked_weights_only_feel_weight_decay() -> None:
    """As in the official loop, the mask is applied to .grad and SGD's weight decay is added afterwards by
    optimizer.step(): masked entries move by lr·wd·w only, kept ones by lr·((1 − τ)·g + wd·w)."""
    model = TwoTensors()
    before = model.a.detach().clone()
    grad = model.a.grad.clone()
    mask_noncritical_gradients_(model, 0.5)
    lr, wd = 0.1, 0.5
    torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=wd).step()  # first step
    after = model.a.detach()
    assert after[1, 1].item() == pytest.approx(before[1, 1].item() * (1 - lr * wd))  # masked
    for i, j in ((0, 0), (0, 1), (1, 0)):  # kept: rescaled gradient, weight decay not rescaled
        expected = before[i, j].item() - lr * (0.5 * grad[i, j].item() + wd * before[i, j].item())
        assert after[i, j].item() == pytest.approx(expected)
    b = model.b.detach().flatten()
    assert b.tolist() == pytest.approx([0.5 * (1 - lr * wd), -1.0 * (1 - lr * wd)])
