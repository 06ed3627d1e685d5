"""Settings of one ALASCA-paper run (paper values in workflow/experiments/alasca/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from labelrepro.data.noise_spec import canonical_spec
from labelrepro.engine.settings import OptimSettings
from labelrepro.papers.alasca.methods import METHODS
from labelrepro.registry import TRAINERS

#: Auxiliary-classifier architectures (labelrepro.papers.alasca.auxiliary builds them).
AC_TYPES = ("mlp", "bottleneck", "residual")


# revision 2: instance noise, ALS form and warm-up, MLP AC, HAR and CDR as the authors' code
# (docs/decisions.md); Table 1's settings have defaults that leave Tables 3/4's runs unchanged
@TRAINERS.register("alasca", implementation="labelrepro.papers.alasca.trainer", revision=2)
@dataclass(frozen=True, kw_only=True)
class AlascaSettings(OptimSettings):
    """Hyperparameters of one ALASCA-paper run (paper values in workflow/experiments/alasca/)."""

    method: str  # a method of labelrepro.papers.alasca.methods
    label_noise: dict[str, Any]  # a noise spec (labelrepro.data.noise_spec); experiment files name them
    dataset: Literal["cifar10", "cifar100", "clothing1m"] = "cifar10"
    base_width: int = 64
    train_subset: int = 0
    test_subset: int = 0
    ac_type: Literal["mlp", "bottleneck", "residual"] = "bottleneck"
    ac_positions: Literal["third", "all"] = "all"
    # MLP AC: "after" = official SDResNet_mlp (1×1 conv → 8w + BN + ReLU at full resolution, pool, linear);
    # "before" = pool first, then Linear → 8w, ReLU, Linear (this project's earlier design)
    mlp_ac_pool: Literal["after", "before"] = "after"
    lam: float = 2.0
    beta: float = 0.7
    tau: float = 1.0 / 3.0
    uls_alpha: float = 0.5
    als_form: Literal["eq2", "ls_paper", "ls_official"] = "ls_official"  # official AC target
    als_warmup_epochs: int = 30  # official: α̃·min(1, epoch/30); 0 = no warm-up (the paper's Algorithm 1)
    ensemble_heads: Literal["all", "main_and_last"] = "all"
    ensemble_combine: Literal["logits", "probs"] = "logits"
    # HAR (kaidic/HAR; docs/decisions.md): reg_weight (README command), weight_est.py's powers,
    # utils.split_dataset's halves, cifar_hetero_est.py's --epochs
    har_lam: float = 10.0
    har_power: float = 0.6
    har_count_power: float = 0.4
    har_heldout_fraction: float = 0.5
    har_stage1_epochs: int = 120
    # CDR (xiaoboxia/CDR main.py::train_one_step): τ = noise rate, one global ranking, kept grads × (1 − τ)
    cdr_clip_rate: float | None = None
    cdr_ranking: Literal["global", "per_tensor"] = "global"
    cdr_rescale: bool = True
    report_last_epochs: int = 1
    # Table 1 (labelrepro.papers.alasca.methods): `alasca: true` wraps a base method with ALASCA (bottleneck
    # ACs, EMA confidence, ALS on the ACs over the whole batch); the base methods' constants
    alasca: bool = False
    gce_q: float = 0.7
    sce_alpha: float = 1.0
    sce_beta: float = 0.4
    elr_beta: float = 0.7
    elr_lam: float = 3.0
    coteach_forget_rate: float | None = None  # None: the realised noise rate (ALASCA's train_cifar.py)
    coteach_num_gradual: int = 30  # ALASCA README --num_gradual 30 (Co-teaching's own Tk = 10)
    crust_fraction: float = 0.5  # CRUST coreset size per class, as a fraction of the class
    select_warmup_epochs: int = 10  # CRUST/FINE: epochs on every sample before the first selection
    fine_threshold: float = 0.5
    augment: dict[str, Any] = field(default_factory=dict)
    amp: bool = True
    channels_last: bool = True
    eval_batch_size: int = 1000
    # Figures (alasca_fig1/fig2b/fig3). Off by default, so no other run's id changes (canonical settings
    # drop defaults). log_confidence: per epoch, clean/noisy mean and std of the instantaneous S(f(x))_ỹ
    # and the EMA confidence S(t/τ)_ỹ, and their per-sample change since the sample's previous visit
    # (Fig. 3). save_model: the final network's weights in seed-<k>/model.pt, read by the separate
    # analysis step (papers/alasca/jacobian.py: penultimate norms and Jacobian norms, Figs. 1 and 2b)
    # with `analysis_samples` training samples (0 = all) and `jacobian_projections` Gaussian projections.
    log_confidence: bool = False
    save_model: bool = False
    analysis_samples: int = 0
    jacobian_projections: int = 16
    # Table 2 (Clothing1M; papers/alasca/clothing1m_data.py, resnet50.py). Defaults leave every CIFAR
    # run's id unchanged. backbone resnet50: torchvision's ResNet-50 with the official branch ACs after
    # layer1-3, ImageNet weights unless `pretrained: false`; image_size: the crop (224 in the paper);
    # clothing_epoch_samples: the class-balanced sample drawn per epoch; alasca_confidence: where
    # ALASCA's α̃ comes from (the EMA of Algorithm 1, or the main head's instantaneous softmax as the
    # official Clothing1M loss)
    backbone: Literal["resnet34_cifar", "resnet50"] = "resnet34_cifar"
    pretrained: bool = True
    image_size: int = 224
    clothing_epoch_samples: int = 128000
    alasca_confidence: Literal["ema", "instantaneous"] = "ema"

    def __post_init__(self) -> None:
        try:
            canonical_spec(self.label_noise)
        except ValueError as error:
            raise ValueError(f"label_noise: {error}") from None
        method = METHODS[self.method]  # an unknown name raises (a ValueError), listing the known ones
        if self.epochs < 1 or self.batch_size < 1 or self.base_width < 1:
            raise ValueError("epochs, batch_size and base_width must be >= 1")
        if self.ac_type not in AC_TYPES:
            raise ValueError(f"ac_type must be one of {AC_TYPES}")
        if not 0.0 <= self.uls_alpha <= 1.0:
            raise ValueError(f"uls_alpha must lie in [0, 1], got {self.uls_alpha}")
        if self.als_warmup_epochs < 0:
            raise ValueError(f"als_warmup_epochs must be >= 0, got {self.als_warmup_epochs}")
        if self.lam < 0 or self.har_lam < 0:
            raise ValueError("lam and har_lam must be >= 0")
        method.check(self)
        if self.alasca and not getattr(method, "table1_label", None):
            raise ValueError(f"alasca: true wraps a Table 1 base method; {self.method!r} is not one")
        if not 0.0 < self.crust_fraction <= 1.0:
            raise ValueError(f"crust_fraction must lie in (0, 1], got {self.crust_fraction}")
        if self.coteach_forget_rate is not None and not 0.0 <= self.coteach_forget_rate < 1.0:
            raise ValueError(f"coteach_forget_rate must lie in [0, 1), got {self.coteach_forget_rate}")
        if self.coteach_num_gradual < 0 or self.select_warmup_epochs < 0:
            raise ValueError("coteach_num_gradual and select_warmup_epochs must be >= 0")
        if self.cdr_clip_rate is not None and not 0.0 <= self.cdr_clip_rate < 1.0:
            raise ValueError(f"cdr_clip_rate must lie in [0, 1), got {self.cdr_clip_rate}")
        if self.report_last_epochs < 1:
            raise ValueError("report_last_epochs must be >= 1")
        if self.analysis_samples < 0 or self.jacobian_projections < 1:
            raise ValueError("analysis_samples must be >= 0 and jacobian_projections >= 1")
        self._check_clothing1m()

    def _check_clothing1m(self) -> None:
        """Table 2's combination: Clothing1M ⇔ ResNet-50, its own labels, the methods built for it."""
        if (self.dataset == "clothing1m") != (self.backbone == "resnet50"):
            raise ValueError("dataset clothing1m goes with backbone resnet50 (and resnet50 with clothing1m)")
        if self.dataset != "clothing1m":
            return
        if canonical_spec(self.label_noise)["model"] != "none":
            raise ValueError("Clothing1M carries its own noisy labels: use label_noise {model: none}")
        if self.method not in ("standard", "coteaching"):
            raise ValueError(f"Clothing1M runs support methods standard and coteaching, not {self.method!r}")
        if self.method == "coteaching" and self.coteach_forget_rate is None:
            raise ValueError("Clothing1M has no clean training labels: set coteach_forget_rate")
        if self.has_acs and (self.ac_type != "bottleneck" or self.ac_positions != "all"):
            raise ValueError("ResNet-50 takes the official bottleneck ACs after layer1-3 only")
        if self.image_size < 32 or self.image_size % 32 or self.clothing_epoch_samples < 1:
            raise ValueError("image_size must be a multiple of 32 (>= 32), clothing_epoch_samples >= 1")

    @property
    def has_acs(self) -> bool:
        """Whether the method's network carries auxiliary classifiers (ALASCA's, or `alasca: true`)."""
        return METHODS[self.method].has_acs or self.alasca

    def clip_rate(self) -> float:
        """CDR's τ: the configured value, else the nominal noise rate of the run's label noise."""
        if self.cdr_clip_rate is not None:
            return self.cdr_clip_rate
        return float(canonical_spec(self.label_noise).get("rate", 0.0))
