"""CDR baseline (Xia et al. 2021) as used in ALASCA's Table 3: critical-parameter gradient masking."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from labelrepro.papers.alasca.cdr import critical_mask, mask_noncritical_gradients_


def test_critical_mask_by_hand() -> None:
    w = torch.tensor([[1.0, -2.0], [0.5, 4.0]])
    g = torch.tensor([[3.0, 1.0], [-10.0, 0.1]])
    # |w·g| = [[3, 2], [5, 0.4]]: with τ = 0.5 the two largest (5, 3) are critical.
    mask = critical_mask(w, g, 0.5)
    assert mask.tolist() == [[True, False], [True, False]]
    assert critical_mask(w, g, 0.0).all()  # τ = 0: everything critical (plain SGD)
    assert critical_mask(w, g, 0.6).sum() == 2  # ⌈0.4·4⌉ = 2
    with pytest.raises(ValueError):
        critical_mask(w, g, 1.0)


def test_noncritical_weights_only_decay() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 4.0]]))
    model[0].weight.grad = torch.tensor([[3.0, 1.0], [-10.0, 0.1]])
    model[0].bias.grad = torch.tensor([1.0, 1.0])
    model[1].weight.grad = torch.tensor([1.0, 1.0])
    fraction = mask_noncritical_gradients_(model, 0.5)
    assert fraction == pytest.approx(0.5)
    assert model[0].weight.grad.tolist() == [[3.0, 0.0], [-10.0, 0.0]]
    assert model[0].bias.grad.tolist() == [1.0, 1.0]  # biases and BN are always critical
    assert model[1].weight.grad.tolist() == [1.0, 1.0]
    before = model[0].weight.detach().clone()
    torch.optim.SGD([model[0].weight], lr=0.1, weight_decay=0.5).step()
    after = model[0].weight.detach()
    # non-critical: w ← w − lr·wd·w = 0.95 w; critical: w − lr·(g + wd·w)
    assert after[0, 1].item() == pytest.approx(0.95 * before[0, 1].item())
    assert after[1, 1].item() == pytest.approx(0.95 * before[1, 1].item())
    assert after[0, 0].item() == pytest.approx(1.0 - 0.1 * (3.0 + 0.5))
