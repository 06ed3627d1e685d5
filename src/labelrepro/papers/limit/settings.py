"""Settings of one LIMIT-table configuration (paper values in workflow/experiments/limit/)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from labelrepro.engine.settings import OptimSettings
from labelrepro.papers.limit.methods import HYPERPARAMETER_DEFAULTS, METHODS
from labelrepro.registry import TRAINERS


# revision 2: FW/DMI copy the CE parameters only (docs/decisions.md)
@TRAINERS.register("limit", implementation="labelrepro.papers.limit.trainer", revision=2)
@dataclass(frozen=True, kw_only=True)
class LimitSettings(OptimSettings):
    """One configuration: a method (labelrepro.papers.limit.methods), its hyperparameters, p and n."""

    method: str
    dataset: Literal["mnist", "cifar10", "cifar100"] = "mnist"  # MNIST: Table-3 net; CIFAR: ResNet-34
    train_size: int = 0  # n; 0 = every training example left after the validation split ("All")
    noise_rate: float = 0.0  # p of the label noise
    #: uniform: the label moves to a different class with probability p (Tables 4-6); pair: CIFAR-10's
    #: truck->automobile, bird->airplane, deer->horse, cat->dog with probability p (Table 7)
    noise_model: Literal["uniform", "pair"] = "uniform"
    base_width: int = 64  # ResNet-34 stage widths (w, 2w, 4w, 8w); smoke scale narrows it (CIFAR only)
    augment: dict[str, Any] = field(default_factory=dict)  # CIFAR: {crop_padding: 4, hflip: true}
    val_fraction: float = 0.2
    patience: int = 100
    test_subset: int = 0
    sigma: float = 0.0  # std of the logit-gradient noise (CE+GN/LN) or of the +S sample (LIMIT)
    beta: float = 0.0  # LIMIT / soft reg.: weight of ||mu||^2
    lam: float = 0.0  # soft reg. (Eq. 11): weight of the label-information term
    fw_quantile: float = 0.97
    dmi_eps: float = 1e-3
    init_lr: float = 0.001  # learning rate of the CE run that FW/DMI start from (the CE rows' Adam lr)
    init_patience: int = 0  # early-stopping patience of that CE run; 0 = this run's own patience
    init_copy: Literal["parameters", "state"] = "parameters"  # what FW/DMI copy (official: parameters)
    official_normalization: bool = True
    eval_batch_size: int = 1000
    #: also record the current classifier's test accuracy after every epoch (`epoch_test_acc`): the
    #: test curves of Fig. A0; off by default, since on MNIST at n = 10^3 it would double an epoch's cost
    test_every_epoch: bool = False

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1:
            raise ValueError("epochs, batch_size and patience must be >= 1")
        if self.train_size < 0 or self.test_subset < 0:
            raise ValueError("train_size and test_subset must be >= 0 (0 = all)")
        if not 0.0 <= self.noise_rate < 1.0:
            raise ValueError(f"noise_rate must lie in [0, 1), got {self.noise_rate}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must lie in (0, 1), got {self.val_fraction}")
        if self.optimizer != "adam" or self.schedule != "constant":
            raise ValueError("LIMIT experiments use Adam with a constant learning rate (optimizer: adam, "
                             "schedule: constant)")
        method = METHODS[self.method]  # an unknown name raises, listing the known ones
        for name, default in HYPERPARAMETER_DEFAULTS.items():
            if name not in method.uses and getattr(self, name) != default:
                users = [m for m in METHODS.in_order() if name in METHODS[m].uses]
                raise ValueError(f"method {self.method} does not use '{name}' (set it only for "
                                 f"{', '.join(users)})")
        if self.noise_model == "pair" and self.dataset != "cifar10":
            raise ValueError(f"noise_model: pair is CIFAR-10's pair noise; dataset is {self.dataset} "
                             "(use noise_model: uniform)")
        if self.base_width != 64 and self.dataset == "mnist":
            raise ValueError("base_width sets the CIFAR ResNet-34's width; the MNIST net has none "
                             "(remove base_width)")
        if self.base_width < 1 or self.init_patience < 0:
            raise ValueError("base_width must be >= 1 and init_patience >= 0")
        if METHODS[self.method].needs_features and self.dataset != "mnist":
            raise ValueError(f"method {self.method} reads the Table-3 net's FC-128 features; it runs on "
                             "MNIST only (dataset: mnist)")
        if self.augment and self.dataset == "mnist":
            raise ValueError("augment is for the CIFAR experiments (flip + crop); MNIST trains without")
        if self.beta < 0 or self.sigma < 0:
            raise ValueError("beta and sigma must be >= 0")
        method.check(self)

    def required_runs(self) -> dict[str, dict[str, Any]]:
        """FW, DMI and LIMIT + init. start from the best-validation classifier of the CE run with the same
        data, noise, size, epochs and splits (the official commands); the workflow trains that run first.
        That CE run trains with CE's own lr (`init_lr`) and patience (`init_patience`), so it is the run
        of the table's CE row whatever the starting method's lr or patience."""
        start = METHODS[self.method].starts_from
        if start is None:
            return {}
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values.update(HYPERPARAMETER_DEFAULTS, method=start, lr=self.init_lr,
                      patience=self.init_patience or self.patience, init_patience=0)
        return {"init": values}
