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


#: Losses of seed 003 §3 for binary labels: L(-y N(x)) with L(xi) = ReLU(beta + xi) ("hinge") or
#: log(1 + exp(xi)) ("logistic", the binary cross-entropy of §6).
LOSSES = ("hinge", "logistic")


@TRAINERS.register("sparsity_noise", implementation="labelrepro.papers.sparsity.pure_noise", revision=1)
@dataclass(frozen=True)
class PureNoiseSettings:
    """Training under pure label noise (Definition 2, §5-§6.2): a fresh x ~ N(0, I_d) and a fresh
    y ~ U{+-1} at every SGD step (batch size 1), so there is no dataset and nothing to fit.

    `model: neuron` is Theorem 2's single linear neuron N(x) = v . x (no bias, Fig. 2); `model: mlp`
    is N(x) = w2 . ReLU(W1 x + b1) + b2 with `hidden` units, both layers trained (Figs. 3 and 4; the
    biases exist only with `bias: true`). Every learning rate in `lrs` and every loss in `losses` is
    trained side by side in one job, each seed starting from the same initialisation and seeing the same
    (x, y) stream under every rate and loss (paired comparisons; e.g. Fig. 3's hinge vs cross-entropy).
    """

    d: int
    lrs: tuple[float, ...]
    steps: int
    eval_every: int
    model: Literal["neuron", "mlp"] = "mlp"
    hidden: int = 1
    bias: bool = False
    losses: tuple[str, ...] = LOSSES
    #: beta of the hinge loss ReLU(beta - y N(x)); Theorem 2 / Corollary 1 / Theorems 3-4 use 0.
    hinge_beta: float = 0.0
    init_scale: Literal["unit", "fan_in"] = "unit"
    #: Fresh inputs per run on which the typical number of active neurons (Definition 1) is measured.
    n_eval: int = 1000

    def __post_init__(self) -> None:
        for name in ("d", "hidden", "steps", "eval_every", "n_eval"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lrs or min(self.lrs) <= 0:
            raise ValueError(f"lrs must be a non-empty list of learning rates > 0, got {list(self.lrs)}")
        if not self.losses or any(loss not in LOSSES for loss in self.losses):
            raise ValueError(
                f"losses must be a non-empty list of {', '.join(LOSSES)}; got {list(self.losses)}")
        if len(set(self.losses)) != len(self.losses):
            raise ValueError(f"losses lists a loss twice: {list(self.losses)}")
        if self.hinge_beta < 0:
            raise ValueError(f"hinge_beta must be >= 0, got {self.hinge_beta}")
        if self.model == "neuron" and self.bias:
            raise ValueError("model: neuron is Theorem 2's bias-free linear neuron; set bias: false")


@TRAINERS.register("sparsity_thm4", implementation="labelrepro.papers.sparsity.theorem4", revision=1)
@dataclass(frozen=True)
class Theorem4Settings:
    """Theorems 3 and 4: N(x) = V . ReLU(W x), 2k hidden units, no bias, V = (1,...,1, -1,...,-1)
    fixed, only W trained (W iid U[-1, 1]), hinge loss with beta = 0, pure label noise over the
    standard basis x ~ U{e_1, ..., e_d}, SGD at batch size 1.

    Every k of `ks` and every learning rate trains in one job: the absolute rates `lrs` (Theorem 4.1
    needs h >= 1) and the k-dependent rates h = c / k for c in `lrs_times_k` (Theorem 4.2 needs
    h <= 1 / k). `steps` SGD steps per run; evaluated every `eval_every` steps.
    """

    d: int
    ks: tuple[int, ...]
    steps: int
    eval_every: int
    lrs: tuple[float, ...] = (1.0,)
    lrs_times_k: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        for name in ("d", "steps", "eval_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.ks or min(self.ks) < 1:
            raise ValueError(f"ks must be a non-empty list of integers >= 1, got {list(self.ks)}")
        if not (self.lrs or self.lrs_times_k):
            raise ValueError("give at least one learning rate in lrs or lrs_times_k")
        if any(h <= 0 for h in (*self.lrs, *self.lrs_times_k)):
            raise ValueError("every learning rate in lrs and lrs_times_k must be > 0")
