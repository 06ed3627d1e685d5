"""R independent ReLU MLPs (A.2.1: input -> 1024 -> 1024 -> classes) as stacked parameter tensors.

The MLP rows of seed 004 train 10 seeds × 29 (loss, strength) networks per dataset and phase. One at a
time, every step of a 1.9M-parameter MLP at batch 64 is a few small matrix products dominated by kernel
launch and Python overhead; stacked, one `baddbmm` per layer updates all R networks. No operation mixes
runs: run r's parameters are slice r of every tensor, its gradient is the gradient of its own mean loss
(the objective is the sum over runs), and SGD with momentum acts elementwise, so each run follows the
trajectory it would follow alone (tests/test_relaxation_trainer.py checks this against nn.Linear + SGD).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch


class BatchedMLP(torch.nn.Module):
    """Weights `weights[l]` (R, fan_in, fan_out) and biases (R, fan_out); x (R, B, D) -> (R, B, C)."""

    def __init__(self, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor]) -> None:
        super().__init__()
        self.weights = torch.nn.ParameterList([torch.nn.Parameter(w) for w in weights])
        self.biases = torch.nn.ParameterList([torch.nn.Parameter(b) for b in biases])

    @staticmethod
    def layer_sizes(inputs: int, hidden: int, depth: int, classes: int) -> list[tuple[int, int]]:
        sizes = [inputs, *([hidden] * depth), classes]
        return list(itertools.pairwise(sizes))

    @classmethod
    def initialise(cls, generators: Sequence[torch.Generator], sizes: list[tuple[int, int]], init: str,
                   replicate: int = 1) -> BatchedMLP:
        """One network per generator, each repeated `replicate` times (consecutive runs share an init).

        'glorot': Keras' Dense default (Glorot-uniform weights, zero biases), what the authors' Keras
        models start from; 'torch': nn.Linear's default (U(±1/√fan_in) for weights and biases).
        """
        weights, biases = [], []
        for fan_in, fan_out in sizes:
            ws, bs = [], []
            for gen in generators:
                if init == "glorot":
                    bound = math.sqrt(6.0 / (fan_in + fan_out))
                    ws.append((torch.rand(fan_in, fan_out, generator=gen) * 2 - 1) * bound)
                    bs.append(torch.zeros(fan_out))
                elif init == "torch":
                    bound = 1.0 / math.sqrt(fan_in)
                    ws.append((torch.rand(fan_in, fan_out, generator=gen) * 2 - 1) * bound)
                    bs.append((torch.rand(fan_out, generator=gen) * 2 - 1) * bound)
                else:
                    raise ValueError(f"init must be 'glorot' or 'torch', got {init!r}")
            weights.append(torch.stack(ws).repeat_interleave(replicate, dim=0))
            biases.append(torch.stack(bs).repeat_interleave(replicate, dim=0))
        return cls(weights, biases)

    @property
    def runs(self) -> int:
        return self.weights[0].shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.weights) - 1
        for index, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b.unsqueeze(1), x, w)
            if index < last:
                x = torch.relu(x)
        return x
