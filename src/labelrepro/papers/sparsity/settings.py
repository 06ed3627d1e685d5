"""Settings of the seed-003 hypercube runs (paper values in workflow/experiments/sparsity/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from labelrepro.engine.settings import OptimSettings
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


@TRAINERS.register("sparsity_mnist", implementation="labelrepro.papers.sparsity.mnist", revision=1)
@dataclass(frozen=True)
class MnistSettings:
    """§6.4 MNIST: N(x) = W2 ReLU(W1 x + b1) + b2, 784 -> `hidden` -> 10, loss sum_i log(1 + exp(-y_i N(x)_i))
    with y_i = +1 for the label's output and -1 for the others (Eq. 3), SGD at batch size 1, learning
    rate `lr` halved every `halve_every` epochs, per-step label noise `label_noise` (the label is
    replaced with probability p by a uniform one of the 10 digits). One epoch = as many steps as
    training images. Every (seed, p) of a job trains in one batched tensor."""

    epochs: int
    hidden: int = 600
    lr: float = 0.01
    halve_every: int = 5
    label_noises: tuple[float, ...] = (0.0, 0.1)
    dataset: Literal["mnist"] = "mnist"
    #: pixels / 255 in [0, 1] ("unit": non-negative inputs, as §5 notes for MNIST), or standardised
    #: with the dataset's mean and std ("standardize").
    input_scaling: Literal["unit", "standardize"] = "unit"
    bias: bool = True
    #: U[-a, a] init: "torch" = nn.Linear's default a = 1/sqrt(fan_in) (weights and biases);
    #: "unit" = sqrt(3) as §6 states for its small nets; "fan_in" = sqrt(3 / fan_in), zero biases.
    init_scale: Literal["torch", "unit", "fan_in"] = "torch"
    #: each step draws an image uniformly with replacement (§3), or walks a fresh permutation per epoch
    sampling: Literal["with_replacement", "permutation"] = "with_replacement"
    #: training images whose clean error and active fraction are measured each epoch (0 = all)
    eval_train_subset: int = 10000
    #: neurons per run drawn for Appendix F's histograms (Fig. 6 shows 30)
    histogram_neurons: int = 30

    def __post_init__(self) -> None:
        for name in ("epochs", "hidden", "halve_every", "histogram_neurons"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not self.label_noises or not all(0.0 <= p <= 1.0 for p in self.label_noises):
            raise ValueError(
                f"label_noises must be a non-empty list of rates in [0, 1], got {list(self.label_noises)}")
        if self.eval_train_subset < 0:
            raise ValueError(f"eval_train_subset must be >= 0 (0 = all), got {self.eval_train_subset}")
        if self.histogram_neurons > self.hidden:
            raise ValueError(f"histogram_neurons ({self.histogram_neurons}) exceeds hidden ({self.hidden})")


@TRAINERS.register("sparsity_cifar", implementation="labelrepro.papers.sparsity.cifar", revision=1)
@dataclass(frozen=True, kw_only=True)
class CifarSettings(OptimSettings):
    """§6.4 CIFAR-10: ResNet-20 (option-A shortcuts) trained with cross-entropy on softmax, with label
    smoothing `label_smoothing` = p (target 1 - p + p/|Y| on the label, p/|Y| elsewhere: the shared
    `losses/label_smoothing.py`, convention "uniform", §3), on Idelbayev's (2020) recipe (paper values
    in workflow/experiments/sparsity/sparsity_table_cifar.yaml). After training, forward hooks on every
    ReLU measure the fraction of active units per layer for a typical test input."""

    depth: int = 20
    dataset: Literal["cifar10"] = "cifar10"
    train_subset: int = 0
    test_subset: int = 0
    label_smoothing: float = 0.0
    smoothing_convention: Literal["uniform", "others"] = "uniform"
    augment: dict[str, Any] = field(default_factory=dict)
    label_noise: dict[str, Any] = field(default_factory=lambda: {"model": "none"})
    amp: bool = True
    channels_last: bool = True
    eval_batch_size: int = 1000

    def __post_init__(self) -> None:
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {self.label_smoothing}")
        if self.depth < 8 or (self.depth - 2) % 6:
            raise ValueError(f"depth must be 6n + 2 (20, 32, 44, 56, 110), got {self.depth}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
