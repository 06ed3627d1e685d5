"""Early stopping on validation accuracy (LIMIT supplement, Appendix B).

"We trained all models for 400 epochs and terminated the training early when the best validation
accuracy was not improved in the last 100 epochs"; the reported number is the test accuracy of the
best-validation checkpoint. Only a strictly larger accuracy counts as an improvement, so among equal
validation accuracies the earliest epoch (the first checkpoint reaching it) is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class EarlyStopping:
    """Track the best validation accuracy and say when `patience` epochs have passed without a new one."""

    patience: int
    best: float = -math.inf
    best_epoch: int = 0

    def __post_init__(self) -> None:
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1, got {self.patience}")

    def update(self, epoch: int, value: float) -> bool:
        """Record the validation accuracy after `epoch` (1-based); True when it is a new best."""
        if value > self.best:
            self.best, self.best_epoch = value, epoch
            return True
        return False

    def should_stop(self, epoch: int) -> bool:
        """True once `patience` epochs have ended since the best one (epoch 150, best 50, patience 100)."""
        return epoch - self.best_epoch >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
