"""Metrics shared across papers."""

from __future__ import annotations

import torch


def active_neuron_counts(preactivations: torch.Tensor) -> torch.Tensor:
    """A_N(x) of seed 003, Definition 1: the number of hidden units with w_i . x + b_i > 0 (strictly).

    preactivations: (..., B, H) -> counts (..., B).
    """
    return (preactivations > 0).sum(-1)


def typical_active_neurons(preactivations: torch.Tensor) -> torch.Tensor:
    """E_x A_N(x) with x uniform over the given inputs: the mean of `active_neuron_counts` over B."""
    return active_neuron_counts(preactivations).to(torch.float64).mean(-1)


def binary_error(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Classification error of sign(N(x)) against labels in {-1, +1}; N(x) = 0 counts as -1."""
    predictions = torch.where(outputs > 0, 1.0, -1.0)
    return (predictions != labels).to(torch.float64).mean(-1)


def logistic_loss(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean log(1 + exp(-y N(x))) over the last axis (binary cross-entropy on +-1 labels)."""
    return torch.nn.functional.softplus(-labels * outputs).to(torch.float64).mean(-1)


def classification_error(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 error of (N, C) logits against integer labels."""
    return (logits.argmax(-1) != labels).to(torch.float64).mean().item()


class ReluActivity:
    """Forward hooks on ReLU modules: per layer, the fraction of its units that are active (output > 0)
    for a typical input, i.e. Definition 1's typical number of active neurons divided by the layer's
    size, averaged over every input passed through the model while the hooks are on (§6.4's CIFAR table:
    "the fraction of active neurons for a typical input").

        with ReluActivity(model.relu_layers()) as activity:
            for x in batches: model(x)
        activity.fractions()   # {layer name: fraction}, activity.units: {layer name: units per input}
    """

    def __init__(self, layers: list[tuple[str, torch.nn.Module]]) -> None:
        self.layers = layers
        self.sums: dict[str, torch.Tensor] = {}
        self.inputs: dict[str, int] = {}
        self.units: dict[str, int] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _hook(self, name: str):
        def record(_module: torch.nn.Module, _inputs: tuple, out: torch.Tensor) -> None:
            active = (out.detach() > 0).flatten(1).to(torch.float64).mean(1).sum()
            self.sums[name] = self.sums.get(name, 0) + active
            self.inputs[name] = self.inputs.get(name, 0) + out.shape[0]
            self.units[name] = out[0].numel()
        return record

    def __enter__(self) -> ReluActivity:
        self._handles = [module.register_forward_hook(self._hook(name)) for name, module in self.layers]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def fractions(self) -> dict[str, float]:
        """Per layer (in the given order): mean over inputs of the fraction of active units."""
        return {
            name: float(self.sums[name]) / self.inputs[name] for name, _ in self.layers if name in self.sums
        }
