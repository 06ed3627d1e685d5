"""Settings of the seed-003 hypercube runs (paper values in workflow/experiments/sparsity/)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from labelrepro.registry import TRAINERS


@TRAINERS.register("sparsity", implementation="labelrepro.papers.sparsity.trainer")
@dataclass(frozen=True)
class SparsitySettings:
    """Hyperparameters of the hypercube experiment (paper values in workflow/experiments/)."""

    d: int
    hidden: int
    n_train: int
    n_test: int
    eps: float
    lr: float
    steps: int
    eval_every: int
    label_noise: float = 0.0
    noise_mode: Literal["resample", "flip"] = "resample"
    bias: bool = True
    init_scale: Literal["unit", "fan_in"] = "unit"

    def __post_init__(self) -> None:
        for name in ("d", "hidden", "n_train", "n_test", "steps", "eval_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.label_noise <= 1.0:
            raise ValueError(f"label_noise must lie in [0, 1], got {self.label_noise}")
        if not 0.0 < self.eps < 1.0:
            raise ValueError(f"eps must lie in (0, 1), got {self.eps}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
