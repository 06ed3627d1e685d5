"""Settings of one LIMIT-table configuration (paper values in workflow/experiments/limit/)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
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
    dataset: Literal["mnist"] = "mnist"
    train_size: int = 0  # n; 0 = every training example left after the validation split ("All")
    noise_rate: float = 0.0  # p of uniform noise (label moves to a different class)
    val_fraction: float = 0.2
    patience: int = 100
    test_subset: int = 0
    sigma: float = 0.0  # std of the logit-gradient noise (CE+GN/LN) or of the +S sample (LIMIT)
    beta: float = 0.0  # LIMIT / soft reg.: weight of ||mu||^2
    lam: float = 0.0  # soft reg. (Eq. 11): weight of the label-information term
    fw_quantile: float = 0.97
    dmi_eps: float = 1e-3
    init_lr: float = 0.001  # learning rate of the CE run that FW/DMI start from (the CE rows' Adam lr)
    init_copy: Literal["parameters", "state"] = "parameters"  # what FW/DMI copy (official: parameters)
    official_normalization: bool = True
    eval_batch_size: int = 1000

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
        if self.beta < 0 or self.sigma < 0:
            raise ValueError("beta and sigma must be >= 0")
        method.check(self)

    def required_runs(self) -> dict[str, dict[str, Any]]:
        """FW and DMI start from the best-validation classifier of the CE run with the same data, noise,
        size, epochs and splits (the official commands); the workflow trains that run first."""
        start = METHODS[self.method].starts_from
        if start is None:
            return {}
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values.update(HYPERPARAMETER_DEFAULTS, method=start, lr=self.init_lr)
        return {"init": values}
