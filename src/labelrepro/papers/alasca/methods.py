"""The methods of the ALASCA tables (Tables 3 and 4), one class each, in registration order.

A method declares once what the rest of the package reads: its name (the experiment files' `method`),
its table row label(s) (Table 3's baselines, Table 4's component rows), whether the network carries
auxiliary classifiers (`has_acs`) and whether the smoothing factor comes from the EMA confidence
(`uses_ema`). Its `objective` builds the loss of one minibatch (Algorithm 1 and Section 4.3; α̃ = 1 −
confidence in the given label, from the main head, detached, scaled by min(1, epoch / `als_warmup_epochs`);
"ALS" is the loss of `als_form`, by default the official code's target 1 − α̃ on the label, α̃/(L − 1)
elsewhere):

===========  ==========================================================================================
standard     CE on the main head, no ACs.
uls          CE against the uniformly smoothed target (α = `uls_alpha`) on the main head, no ACs.
uls_ac       CE on the main head + λ·Σ_k ULS on the ACs ("ULS + AC").
als          ALS on the main head with the instantaneous α̃ = 1 − S(f(x))_y (Eq. 2's α̃), no ACs.
als_ac       CE on the main head + λ·Σ_k ALS on the ACs, instantaneous α̃ ("ALS + AC").
als_ema      ALS on the main head with the EMA confidence α̃ = 1 − S(t/τ)_y, no ACs ("+ EMA").
alasca       CE on the main head + λ·Σ_k ALS on the ACs with EMA confidence (Algorithm 1).
har          HAR (Cao et al. 2021): CE on a half, class strengths from the other, then BN-gradient penalty.
cdr          CDR (Xia et al. 2021): CE; non-critical gradients zeroed (global |w·g| rank), rest × (1 − τ).
===========  ==========================================================================================

The trainer (`labelrepro.papers.alasca.trainer`) calls three hooks per run and batch: `stage1_epochs`
(HAR's first stage; 0 for single-stage methods), `loss` (the objective, or HAR's stage-2 loss) and
`after_backward` (CDR's gradient masking). Each returns the per-sample-mean logs it adds to the epoch's
row (`har_penalty`, `cdr_masked`).

The loss modules are imported lazily, so the Snakefile reads this table without importing torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from labelrepro.core.lazy import lazy_import
from labelrepro.registry import Registry

if TYPE_CHECKING:
    import torch

    from labelrepro.papers.alasca.losses import EmaConfidence
    from labelrepro.papers.alasca.settings import AlascaSettings
    from labelrepro.papers.alasca.trainer import AlascaRun

L = lazy_import("labelrepro.papers.alasca.losses")
H = lazy_import("labelrepro.papers.alasca.har")
C = lazy_import("labelrepro.papers.alasca.cdr")

#: (loss to back-propagate, per-sample α̃ or None, per-sample-mean logs for the epoch's row).
BatchLoss = tuple["torch.Tensor", "torch.Tensor | None", dict[str, "torch.Tensor | float"]]


class Method:
    """One training objective of the ALASCA tables."""

    name: ClassVar[str]
    #: Table 3 row label (the baselines); ALASCA's Table 3 rows are its AC variants (`table3_by_ac`).
    table3_label: ClassVar[str | None] = None
    #: Table 3 rows, one per (AC architecture, position), labelled by the architecture.
    table3_by_ac: ClassVar[bool] = False
    #: Table 4 rows: (LaTeX label, accuracy column of the run's aggregate).
    table4_rows: ClassVar[tuple[tuple[str, str], ...]] = ()
    has_acs: ClassVar[bool] = False  # the network carries auxiliary classifiers
    uses_ema: ClassVar[bool] = False  # α̃ from the EMA confidence (Algorithm 1 lines 3-4)

    def check(self, settings: AlascaSettings) -> None:
        """Method-specific value checks (raise ValueError)."""

    def stage1_epochs(self, settings: AlascaSettings) -> int:
        """Epochs of a first stage trained before a fresh network (HAR); 0 for single-stage methods."""
        return 0

    def objective(
        self,
        settings: AlascaSettings,
        main: torch.Tensor,
        acs: Sequence[torch.Tensor],
        labels: torch.Tensor,
        index: torch.Tensor,
        ema: EmaConfidence | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The loss of one minibatch from the main and AC logits; returns (loss, α̃ or None)."""
        raise NotImplementedError

    def loss(
        self,
        run: AlascaRun,
        main: torch.Tensor,
        acs: Sequence[torch.Tensor],
        feats: Sequence[torch.Tensor],
        labels: torch.Tensor,
        index: torch.Tensor,
    ) -> BatchLoss:
        """What the trainer back-propagates for one minibatch (inside autocast): the objective."""
        loss, alpha = self.objective(run.settings, main, acs, labels, index, run.ema)
        return loss, alpha, {}

    def after_backward(self, run: AlascaRun) -> dict[str, float]:
        """Called between backward and the optimiser step; returns per-sample-mean logs."""
        return {}

    def labels(self) -> list[str]:
        """Every row label this method has in Tables 3 and 4 (ALASCA's Table 3 rows aside)."""
        table3 = [self.table3_label] if self.table3_label else []
        return table3 + [label for label, _ in self.table4_rows]


METHODS: Registry[Method] = Registry("ALASCA method")


#: Class decorator: `@method("name")` registers one instance of the method class under that name.
method = METHODS.register_instance


class _CrossEntropy(Method):
    """CE on the main head (Standard; CDR and HAR's first stage)."""

    def objective(
        self,
        settings: AlascaSettings,
        main: torch.Tensor,
        acs: Sequence[torch.Tensor],
        labels: torch.Tensor,
        index: torch.Tensor,
        ema: EmaConfidence | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return L.cross_entropy(main.float(), labels), None


@method("standard")
class Standard(_CrossEntropy):
    table3_label = "Standard"


@method("uls")
class UniformLabelSmoothing(Method):
    table4_rows = (("ULS", "test_acc_avg"),)

    def objective(
        self,
        settings: AlascaSettings,
        main: torch.Tensor,
        acs: Sequence[torch.Tensor],
        labels: torch.Tensor,
        index: torch.Tensor,
        ema: EmaConfidence | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return L.uniform_label_smoothing_loss(main.float(), labels, settings.uls_alpha), None


@method("uls_ac")
class UniformLabelSmoothingOnACs(Method):
    """CE on the main head + λ·Σ_k ULS on the ACs."""

    table4_rows = ((r"\quad + AC", "test_acc_avg"),)
    has_acs = True

    def objective(
        self,
        settings: AlascaSettings,
        main: torch.Tensor,
        acs: Sequence[torch.Tensor],
        labels: torch.Tensor,
        index: torch.Tensor,
        ema: EmaConfidence | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        main32 = main.float()
        acs32 = [a.float() for a in acs]
        loss = L.cross_entropy(main32, labels)
        for ac in acs32:
            loss = loss + settings.lam * L.uniform_label_smoothing_loss(ac, labels, settings.uls_alpha)
        return loss, None


class _AdaptiveSmoothing(Method):
    """ALS with α̃ from the main head: instantaneous (Eq. 2) or the EMA confidence (Algorithm 1), ramped
    in as the official code does: α̃·min(1, epoch / `als_warmup_epochs`) for the 0-based epoch."""

    def loss(
        self,
        run: AlascaRun,
        main: torch.Tensor,
        acs: Sequence[torch.Tensor],
        feats: Sequence[torch.Tensor],
        labels: torch.Tensor,
        index: torch.Tensor,
    ) -> BatchLoss:
        """The objective at the run's current epoch (`run.position`, 0-based), for the warm-up."""
        loss, alpha = self.objective(run.settings, main, acs, labels, index, run.ema, epoch=run.position)
        return loss, alpha, {}

    def smoothing_factor(
        self,
        settings: AlascaSettings,
        main32: torch.Tensor,
        labels: torch.Tensor,
        index: torch.Tensor,
        ema: EmaConfidence | None,
        epoch: int | None,
    ) -> torch.Tensor:
        if self.uses_ema:
            assert ema is not None
            ema.update(index, main32)  # Algorithm 1 line 3, before α̃ (line 4)
            alpha = ema.smoothing_factor(index, labels)
        else:
            alpha = L.instantaneous_smoothing_factor(main32, labels)  # Eq. 2
        return alpha * L.smoothing_warmup(epoch, settings.als_warmup_epochs)


class _AdaptiveSmoothingOnMain(_AdaptiveSmoothing):
    """ALS on the main head, no ACs."""

    def objective(
        self,
        settings: AlascaSettings,
        main: torch.Tensor,
        acs: Sequence[torch.Tensor],
        labels: torch.Tensor,
        index: torch.Tensor,
        ema: EmaConfidence | None,
        epoch: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`epoch` (0-based) drives the smoothing warm-up; None: after it (factor 1)."""
        main32 = main.float()
        alpha = self.smoothing_factor(settings, main32, labels, index, ema, epoch)
        return L.adaptive_label_smoothing_loss(main32, labels, alpha, form=settings.als_form), alpha


class _AdaptiveSmoothingOnACs(_AdaptiveSmoothing):
    """CE on the main head + λ·Σ_k ALS on the ACs (Algorithm 1 lines 5-6)."""

    has_acs = True

    def objective(
        self,
        settings: AlascaSettings,
        main: torch.Tensor,
        acs: Sequence[torch.Tensor],
        labels: torch.Tensor,
        index: torch.Tensor,
        ema: EmaConfidence | None,
        epoch: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`epoch` (0-based) drives the smoothing warm-up; None: after it (factor 1)."""
        main32 = main.float()
        acs32 = [a.float() for a in acs]
        alpha = self.smoothing_factor(settings, main32, labels, index, ema, epoch)
        loss = L.alasca_loss(main32, acs32, labels, L.cross_entropy, alpha, settings.lam, settings.als_form)
        return loss, alpha


@method("als")
class AdaptiveLabelSmoothing(_AdaptiveSmoothingOnMain):
    table4_rows = (("ALS", "test_acc_avg"),)


@method("als_ac")
class AdaptiveLabelSmoothingOnACs(_AdaptiveSmoothingOnACs):
    table4_rows = ((r"\quad + AC", "test_acc_avg"),)


@method("als_ema")
class AdaptiveLabelSmoothingEma(_AdaptiveSmoothingOnMain):
    table4_rows = ((r"\quad + EMA", "test_acc_avg"),)
    uses_ema = True


@method("alasca")
class Alasca(_AdaptiveSmoothingOnACs):
    """ALASCA: its main head ("ALASCA") and the ensemble of all classifiers ("ALASCA*", Table 4)."""

    table3_by_ac = True
    table4_rows = (("ALASCA", "test_acc_avg"), ("ALASCA*", "test_acc_ens_avg"))
    uses_ema = True


@method("har")
class Har(_CrossEntropy):
    """HAR (kaidic/HAR): stage 1 trains a fresh network with CE on the fit part of the training set; the
    trainer then sets `run.strengths` to the per-class strengths s_c from its held-out class errors; stage
    2 trains a fresh network on CE + har_lam · mean_i s_{ỹ_i} Σ_l ‖∂CE/∂x̂_l[i]‖ (see
    labelrepro.papers.alasca.har)."""

    table3_label = "HAR"
    #: the trainer exposes the normalised outputs of the residual blocks' batch norms (HAR's penalty)
    exposes_bn_outputs: ClassVar[bool] = True

    def check(self, settings: AlascaSettings) -> None:
        if settings.har_stage1_epochs < 1:
            raise ValueError("HAR needs har_stage1_epochs >= 1 (its first stage estimates the class errors)")
        if not 0.0 < settings.har_heldout_fraction < 1.0:
            raise ValueError(f"har_heldout_fraction must lie in (0, 1), got {settings.har_heldout_fraction}")
        if settings.har_power < 0 or settings.har_count_power < 0:
            raise ValueError("har_power and har_count_power must be >= 0")

    def stage1_epochs(self, settings: AlascaSettings) -> int:
        return settings.har_stage1_epochs

    def loss(
        self,
        run: AlascaRun,
        main: torch.Tensor,
        acs: Sequence[torch.Tensor],
        feats: Sequence[torch.Tensor],
        labels: torch.Tensor,
        index: torch.Tensor,
    ) -> BatchLoss:
        normalised = H.take_normalised_outputs(run.phase.net)  # released from the modules in both stages
        strengths = run.strengths
        if strengths is None:  # stage 1: CE
            return super().loss(run, main, acs, feats, labels, index)
        loss, penalty = H.har_loss(main.float(), labels, normalised, strengths, run.settings.har_lam)
        return loss, None, {"har_penalty": penalty}


@method("cdr")
class Cdr(_CrossEntropy):
    """CDR (xiaoboxia/CDR): CE; before each step the gradients of the 2-D/4-D parameters are masked to the
    critical entries (one global ranking of |w·g|) and scaled by (1 − τ) (labelrepro.papers.alasca.cdr)."""

    table3_label = "CDR"

    def after_backward(self, run: AlascaRun) -> dict[str, torch.Tensor | float]:
        settings = run.settings
        masked = C.mask_noncritical_gradients_(run.phase.net, run.clip_rate, settings.cdr_ranking,
                                               settings.cdr_rescale)
        return {"cdr_masked": masked}


def table_order() -> list[str]:
    """Method names in the order they are defined here (the tables' row order)."""
    return METHODS.in_order()
