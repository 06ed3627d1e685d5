"""Settings of the seed-003 hypercube runs (paper values in workflow/experiments/sparsity/)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from labelrepro.registry import TRAINERS


# revision 2: rows carry the stopping rule's `stop_step` / `stopped` (runs without them cannot be aggregated)
@TRAINERS.register("sparsity", implementation="labelrepro.papers.sparsity.trainer", revision=2)
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
    #: The stopping rule (papers/sparsity/stopping.py): the W-period moving average of the test error
    #: may move by at most `stop_tolerance` over the last `stop_window` evaluation periods, after zero
    #: clean training error. It only selects which evaluation the aggregate reports: every run still
    #: trains for `steps` (the curves go to the end).
    stop_window: int = 25
    stop_tolerance: float = 0.005

    def __post_init__(self) -> None:
        for name in ("d", "hidden", "n_train", "n_test", "steps", "eval_every", "stop_window"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.label_noise <= 1.0:
            raise ValueError(f"label_noise must lie in [0, 1], got {self.label_noise}")
        if not 0.0 < self.eps < 1.0:
            raise ValueError(f"eps must lie in (0, 1), got {self.eps}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not 0.0 <= self.stop_tolerance < 1.0:
            raise ValueError(f"stop_tolerance must lie in [0, 1), got {self.stop_tolerance}")
