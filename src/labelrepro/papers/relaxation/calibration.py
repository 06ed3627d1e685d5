"""Expected calibration error and reliability bins for R runs at once.

ECE with M equal-width confidence bins (Guo et al. 2017; seed 004 uses M = 15): confidence = the
maximum softmax probability, a prediction is correct when its arg-max is the label, and
ECE = Σ_m (n_m / N)·|acc_m − conf_m|. Bin edges and the handling of a confidence on an edge follow
torchmetrics' `MulticlassCalibrationError` (bin m holds [m/M, (m+1)/M), a confidence of 1 falls in the
last bin), which `tests/test_relaxation_calibration.py` checks against; this version keeps the run axis,
so the ECE of hundreds of batched networks is a handful of tensor operations.
"""

from __future__ import annotations

import torch


def bin_statistics(probs: torch.Tensor, labels: torch.Tensor, n_bins: int) -> dict[str, torch.Tensor]:
    """Per run and bin: count, summed confidence and number correct; probs (..., N, C), labels (..., N)."""
    confidence, prediction = probs.max(dim=-1)
    correct = (prediction == labels).to(probs.dtype)
    edges = torch.linspace(0, 1, n_bins + 1, device=probs.device, dtype=probs.dtype)
    index = (torch.bucketize(confidence, edges, right=True) - 1).clamp(0, n_bins - 1)
    shape = (*confidence.shape[:-1], n_bins)
    zeros = torch.zeros(shape, device=probs.device, dtype=probs.dtype)
    return {
        "count": zeros.scatter_add(-1, index, torch.ones_like(confidence)),
        "conf": zeros.scatter_add(-1, index, confidence),
        "correct": zeros.scatter_add(-1, index, correct),
    }


def expected_calibration_error(stats: dict[str, torch.Tensor]) -> torch.Tensor:
    """ECE per run from `bin_statistics` (empty bins contribute nothing)."""
    count = stats["count"]
    gap = (stats["correct"] - stats["conf"]).abs()  # n_m·|acc_m − conf_m|
    return gap.sum(-1) / count.sum(-1)


def ece(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> torch.Tensor:
    """ECE of probs (..., N, C) against labels (..., N), one value per leading index."""
    return expected_calibration_error(bin_statistics(probs, labels, n_bins))
