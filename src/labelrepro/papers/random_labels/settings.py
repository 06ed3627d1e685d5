"""Settings of a seed-000 run with random-label prediction heads (paper values in
workflow/experiments/random_labels/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from labelrepro.engine.settings import OptimSettings
from labelrepro.registry import TRAINERS


@TRAINERS.register("random_labels", implementation="labelrepro.papers.random_labels.trainer")
@dataclass(frozen=True, kw_only=True)
class RandomLabelsSettings(OptimSettings):
    """Hyperparameters of a random-label-heads run (paper values in workflow/experiments/)."""

    model: Literal["vgg16", "wrn16_4"]
    num_random_labels: int
    dataset: Literal["cifar10", "cifar100"] = "cifar100"
    train_subset: int = 0
    test_subset: int = 0
    lam: float = 0.0
    copy_depth: int = 1
    width_multiplier: float = 1.0
    tail_mode: Literal["shared", "per_class", "per_class_routed"] = "shared"
    normalization: Literal["joint", "group"] = "joint"
    single_output: bool = False
    # Regularisers of Figs. 2, 3B/C, A.1-A.3 (all off by default: §3 trains "without additional
    # regularization"). `dropout` sits between the two convolutions of every WRN block (WRN's own place);
    # `label_smoothing` is δ of A.4 Eq. 2 on the class loss (convention "others": 1 − δ on the label,
    # δ/(N − 1) elsewhere; "uniform" is PyTorch's); `head_weight_decay` says whether `weight_decay` also
    # shrinks the random-label heads (on: one decay for every parameter, as the authors' related code does;
    # off: the probe that measures memorisation is left undecayed; decisions.md).
    dropout: float = 0.0
    label_smoothing: float = 0.0
    label_smoothing_convention: Literal["others", "uniform"] = "others"
    head_weight_decay: bool = True
    # WRN-d-k's depth d and widening factor k: 16 and 4 are the paper's WRN-16-4 (`model: wrn16_4`); smoke
    # scale shrinks them so that a run takes about a second on a CPU.
    wrn_depth: int = 16
    wrn_width: int = 4
    vgg_classifier: Literal["cifar", "torchvision"] = "cifar"
    augment: dict[str, Any] = field(default_factory=dict)
    label_noise: dict[str, Any] = field(default_factory=lambda: {"model": "none"})
    amp: bool = True
    channels_last: bool = True
    compile: bool = False
    eval_batch_size: int = 1000

    def __post_init__(self) -> None:
        if self.num_random_labels < 2:
            raise ValueError(f"num_random_labels must be >= 2, got {self.num_random_labels}")
        if self.model == "wrn16_4" and self.copy_depth != 1:
            raise ValueError("copy_depth is for vgg16 only; WRN-16-4 heads read the last features (use 1)")
        if self.model == "vgg16" and not 1 <= self.copy_depth <= 16:
            raise ValueError(f"copy_depth must lie in 1..16 for vgg16, got {self.copy_depth}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.dropout > 0 and self.model != "wrn16_4":
            raise ValueError(f"dropout is implemented inside the WRN blocks only; model {self.model!r} "
                             "has none: set dropout: 0.0 or model: wrn16_4")
        if self.wrn_width < 1 or (self.wrn_width != 4 and self.model != "wrn16_4"):
            raise ValueError(f"wrn_width (WRN-16-k's k, >= 1) applies to model wrn16_4 only, got "
                             f"wrn_width={self.wrn_width} with model {self.model!r}")
        bad_depth = (self.wrn_depth - 4) % 6 or self.wrn_depth < 10
        if bad_depth or (self.wrn_depth != 16 and self.model != "wrn16_4"):
            raise ValueError(f"wrn_depth must be 6m + 4 >= 10 and applies to model wrn16_4 only, got "
                             f"wrn_depth={self.wrn_depth} with model {self.model!r}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing (δ) must lie in [0, 1), got {self.label_smoothing}")
        if self.label_smoothing > 0 and self.single_output:
            raise ValueError("label_smoothing smooths the class loss L_class, which the single-output "
                             "variant (A.5) does not have: set label_smoothing: 0.0 or single_output: false")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        if self.warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        if self.tail_mode == "per_class_routed" and self.normalization != "group":
            raise ValueError(
                "tail_mode 'per_class_routed' runs each sample through its own class's copy only, which is "
                "exact only under a per-group softmax: set normalization: group (or use tail_mode "
                "'per_class', which runs all copies, for the joint softmax)"
            )
        if self.single_output:
            # A.5: the feature extractor is trained by L_reg alone (L = L_rnd + L_reg, no L_class, no λ).
            if self.lam <= 0:
                raise ValueError(
                    f"single_output: true trains the feature extractor by L_reg alone (A.5); lam={self.lam} "
                    "would give it no gradient at all: set lam: 1.0 (A.5's unweighted L_reg)"
                )
            if self.normalization != "joint":
                raise ValueError(
                    "single_output: true builds class scores by summing each group's probabilities (Eq. 5), "
                    "which are all 1 under a per-group softmax: set normalization: joint"
                )
