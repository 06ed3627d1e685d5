"""ECE and reliability bins of seed 004 against torchmetrics and by hand."""

from __future__ import annotations

import pytest
import torch
from torchmetrics.functional.classification import multiclass_calibration_error

from labelrepro.papers.relaxation import calibration


def test_ece_matches_torchmetrics_for_each_run():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 3000, 10, generator=gen) * torch.tensor([0.5, 1.0, 3.0, 8.0]).view(4, 1, 1)
    labels = torch.randint(0, 10, (4, 3000), generator=gen)
    labels[:, :1500] = logits[:, :1500].argmax(-1)  # some accuracy, so the bins differ from chance
    probs = logits.softmax(-1)
    ours = calibration.ece(probs, labels, n_bins=15)
    for r in range(4):
        reference = multiclass_calibration_error(probs[r], labels[r], num_classes=10, n_bins=15, norm="l1")
        assert ours[r].item() == pytest.approx(reference.item(), abs=1e-6)


def test_bins_by_hand():
    """Confidences 0.5 (correct), 0.55 (wrong), 0.95 (correct), 1.0 (correct) with 2 bins:
    bin 0 = [0, 0.5) is empty... 0.5 lands in bin 1 = [0.5, 1] with the rest; ECE = |3/4 - 0.75|."""
    probs = torch.tensor([[0.5, 0.5], [0.45, 0.55], [0.95, 0.05], [1.0, 0.0]])
    labels = torch.tensor([0, 0, 0, 0])
    stats = calibration.bin_statistics(probs, labels, n_bins=2)
    assert stats["count"].tolist() == [0.0, 4.0]
    assert stats["correct"].tolist() == [0.0, 3.0]
    assert stats["conf"][1].item() == pytest.approx(3.0)
    assert calibration.expected_calibration_error(stats).item() == pytest.approx(0.0)
    ten = calibration.bin_statistics(probs, labels, n_bins=10)
    assert ten["count"].tolist() == [0, 0, 0, 0, 0, 2, 0, 0, 0, 2]  # 0.5, 0.55 in [0.5, 0.6); 0.95, 1.0 last
    # bin 5: acc 1/2, conf 0.525; bin 9: acc 1, conf 0.975 -> ECE = (2·0.025 + 2·0.025) / 4
    assert calibration.expected_calibration_error(ten).item() == pytest.approx(0.025)
