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
