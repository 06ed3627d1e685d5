"""Settings of seed 004's runs (paper values in workflow/experiments/relaxation/). Torch-free.

Two trainers:

- `relax_simplex`: no training; evaluates label smoothing and label relaxation over a barycentric grid
  of the 3-class simplex for the A.3 figure (`relax_fig1`), with the package's own loss functions.
- `relax`: the table's runs. `model: mlp` = the 2 × 1024 ReLU MLPs of A.2.1 on MNIST / Fashion-MNIST,
  one job training every seed × loss × strength of one dataset and phase side by side (batched tensors,
  `batched_mlp.py`); the CIFAR models (A.2.2-A.2.4) train their networks one after the other (`cifar.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from labelrepro.engine.settings import OptimSettings
from labelrepro.papers.relaxation.methods import METHODS
from labelrepro.registry import TRAINERS

#: A.2 / the authors' `lr_study_ho.py`: the candidate strengths of every tuned loss.
STRENGTHS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4)
SQRT_TENTH = math.sqrt(0.1)


@TRAINERS.register("relax_simplex", implementation="labelrepro.papers.relaxation.simplex", revision=1)
@dataclass(frozen=True)
class SimplexSettings:
    """Fig. 1 of A.3: α, the grid resolution and the arbitrary prediction outside Q^α (true class first)."""

    alpha: float = 0.25
    resolution: int = 100  # grid points per simplex edge
    prediction: tuple[float, float, float] = (0.35, 0.45, 0.2)

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must lie in (0, 1), got {self.alpha}")
        if self.resolution < 3:
            raise ValueError(f"resolution must be >= 3, got {self.resolution}")
        if len(self.prediction) != 3 or min(self.prediction) <= 0 or abs(sum(self.prediction) - 1) > 1e-9:
            raise ValueError(f"prediction must be 3 positive probabilities summing to 1, got "
                             f"{self.prediction}")
        if self.prediction[0] >= 1 - self.alpha:
            raise ValueError(
                f"prediction {self.prediction} lies inside Q^alpha (p_y >= 1 - alpha = {1 - self.alpha:g}): "
                "the figure shows a prediction outside it; lower its first entry"
            )


@TRAINERS.register("relax", implementation="labelrepro.papers.relaxation.trainer", revision=1)
@dataclass(frozen=True, kw_only=True)
class RelaxSettings(OptimSettings):
    """One dataset, model and phase of the table: every method × strength × seed of it in one job.

    phase `select`: train on the training part minus a validation part (`val_fraction`), score on it
    (the hyperparameter search of the authors' `lr_study_ho.py`); phase `final`: train on the whole
    training part, score on the test part. The aggregate picks, per seed and method, the strength with
    the best validation accuracy and reports that strength's `final` run.
    """

    dataset: Literal["mnist", "fashion_mnist", "cifar10", "cifar100"]
    phase: Literal["select", "final"]
    model: Literal["mlp", "resnet56_v2", "vgg16_bn_dropout", "densenet_bc100"] = "mlp"
    methods: tuple[str, ...] = ("ce", "ls", "cp", "fl", "lr")
    strengths: tuple[float, ...] = STRENGTHS
    hidden: int = 1024
    depth: int = 2
    init: Literal["glorot", "torch"] = "glorot"
    test_fraction: float = 1 / 7  # of official train + test, merged (authors' io_utils)
    val_fraction: float = 0.25  # of the training part (sklearn's train_test_split default there)
    pool_subset: int = 0  # 0 = the whole merged pool; smoke scale may take a fixed subset
    eval_batch_size: int = 2000
    ece_bins: int = 15
    # CIFAR models: A.2.5's augmentation (horizontal flip, shifts of `shift` × the side, edge pixels
    # repeated as Keras' fill_mode='nearest'); bf16 autocast and channels_last on CUDA
    augment: bool = False
    shift: float = 0.1
    amp: bool = True
    channels_last: bool = True
    # A.2: SGD, Nesterov momentum 0.9, batch size 64
    batch_size: int = 64
    momentum: float = 0.9
    nesterov: bool = True
    schedule: str = "multistep"
    gamma: float = SQRT_TENTH

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.hidden < 1 or self.depth < 1:
            raise ValueError("epochs, batch_size, hidden and depth must be >= 1")
        if not self.methods:
            raise ValueError("methods must name at least one loss")
        for name in self.methods:
            METHODS[name]  # an unknown name raises, listing the known ones
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods lists a loss twice: {self.methods}")
        if any(not 0.0 < s < 1.0 for s in self.strengths) or not self.strengths:
            raise ValueError(f"strengths must be values in (0, 1), got {self.strengths}")
        for name in ("test_fraction", "val_fraction"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must lie in (0, 1), got {getattr(self, name)}")
        if self.optimizer != "sgd" or self.schedule not in ("multistep", "constant"):
            raise ValueError("seed 004 trains with SGD (optimizer: sgd) and a step schedule "
                             "(schedule: multistep)")
        if self.ece_bins < 1 or self.pool_subset < 0:
            raise ValueError("ece_bins must be >= 1 and pool_subset >= 0")
        mlp_data = self.dataset in ("mnist", "fashion_mnist")
        if mlp_data != (self.model == "mlp"):
            raise ValueError(f"model {self.model} does not go with dataset {self.dataset}: seed 004 trains "
                             "the MLP on MNIST / Fashion-MNIST and the CIFAR models on CIFAR-10/100")
        if not 0.0 <= self.shift < 0.5:
            raise ValueError(f"shift must lie in [0, 0.5), got {self.shift}")

    def combos(self) -> list[tuple[str, float]]:
        """(method, strength) of every network per seed: CE once (strength 0), the others per strength."""
        return [
            (name, s)
            for name in self.methods
            for s in ((0.0,) if not METHODS[name].tuned else self.strengths)
        ]
