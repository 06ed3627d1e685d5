"""The losses compared in seed 004's table, one entry each, in the table's column order.

Torch-free: the Snakefile and the settings read names, labels and the hyperparameter each loss tunes;
training jobs get the implementation from `losses.py` (imported lazily, on first use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from labelrepro.core.lazy import lazy_import
from labelrepro.registry import Registry

if TYPE_CHECKING:
    import torch

L = lazy_import("labelrepro.papers.relaxation.losses")


@dataclass(frozen=True)
class Method:
    """One column of the table: a loss and the name of the strength it tunes (None: nothing to tune)."""

    name: str
    label: str
    parameter: str | None

    @property
    def tuned(self) -> bool:
        return self.parameter is not None

    def loss(self, logits: torch.Tensor, labels: torch.Tensor,
             strength: float | torch.Tensor) -> torch.Tensor:
        """Per-sample loss (see losses.py); `strength` is ignored by CE."""
        return L.per_sample_loss(self.name, logits, labels, strength)


METHODS: Registry[Method] = Registry("label-relaxation loss")

for _method in (
    Method("ce", "CE", None),
    Method("ls", "LS", "alpha"),
    Method("cp", "CP", "beta"),
    Method("fl", "FL", "gamma"),
    Method("lr", "LR", "alpha"),
):
    METHODS.register(_method.name)(_method)


def method_order() -> list[str]:
    return METHODS.in_order()
