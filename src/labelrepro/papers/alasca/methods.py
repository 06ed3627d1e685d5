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
gce          GCE (Zhang & Sabuncu 2018), q = `gce_q` (Table 1).
sce          SCE (Wang et al. 2019), α·CE + β·RCE (Table 1).
elr          ELR (Liu et al. 2020): CE + λ·log(1 − ⟨t_i, p_i⟩), per-sample target EMA (Table 1).
coteaching   Co-teaching (Han et al. 2018): two networks, each trained on the other's small-loss samples.
crust        CRUST (Mirzasoleiman et al. 2020): weighted CE on per-class facility-location coresets.
fine         FINE (Kim et al. 2021): CE on the samples its eigenvector scores and GMM call clean.
===========  ==========================================================================================

Table 1's base methods (Standard and the six above, `table1_label`) take `alasca: true`: ALASCA then
wraps them as its official criterion does (`losses/ALASCA.py`): the base loss on the main head — on the
selected samples only for Co-teaching, CRUST and FINE — plus λ·Σ_k ALS on the ACs with the EMA confidence
of the main head, over the whole batch (every sample's EMA is updated, selected or not).

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
B = lazy_import("labelrepro.papers.alasca.baselines")
S = lazy_import("labelrepro.papers.alasca.selection")

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

    def setup(self, run: AlascaRun) -> None:
        """Called once when a run starts: per-run state goes into `run.extras` (ELR's targets)."""

    def start_epoch(self, run: AlascaRun) -> dict[str, float]:
        """Called before each epoch's batches (CRUST's and FINE's selection); returns epoch-level logs."""
        return {}

    def labels(self) -> list[str]:
        """Every row label this method has in Tables 3 and 4 (ALASCA's Table 3 rows aside)."""
        table3 = [self.table3_label] if self.table3_label else []
        return table3 + [label for label, _ in self.table4_rows]


METHODS: Registry[Method] = Registry("ALASCA method")


#: Class decorator: `@method("name")` registers one instance of the method class under that name.
method = METHODS.register_instance


class _TableOne(Method):
    """A base method of Table 1; with `alasca: true` ALASCA wraps it (see the module docstring).

    `base_loss` is the method's own loss on the main head; a selection method overrides `loss` and passes
    the base loss of its selected samples to `with_alasca`.
    """

    table1_label: ClassVar[str]
    two_networks: ClassVar[bool] = False  # Co-teaching: the trainer steps a second network with the first

    def base_loss(self, run: AlascaRun, main32: torch.Tensor, labels: torch.Tensor,
                  index: torch.Tensor) -> torch.Tensor:
        """The method's loss of one minibatch on the main-head logits (fp32)."""
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
        main32 = main.float()
        loss, alpha = with_alasca(run, self.base_loss(run, main32, labels, index), main32, acs, labels, index)
        return loss, alpha, {}


def with_alasca(run: AlascaRun, base: torch.Tensor, main32: torch.Tensor, acs: Sequence[torch.Tensor],
                labels: torch.Tensor, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`base` alone (`alasca: false`), else base + λ·Σ_k ALS on the ACs with α̃ from the main head's EMA
    confidence (ramped in over `als_warmup_epochs`), for every sample of the batch; returns (loss, α̃)."""
    settings = run.settings
    if not settings.alasca:
        return base, None
    if settings.alasca_confidence == "instantaneous":  # official Clothing1M loss: softmax of the main head
        alpha = L.instantaneous_smoothing_factor(main32.detach(), labels)
    else:
        run.ema.update(index, main32)  # Algorithm 1 line 3, before α̃ (line 4)
        alpha = run.ema.smoothing_factor(index, labels)
    alpha = alpha * L.smoothing_warmup(run.position, settings.als_warmup_epochs)
    loss = base
    for ac in acs:
        loss = loss + settings.lam * L.adaptive_label_smoothing_loss(ac.float(), labels, alpha,
                                                                      form=settings.als_form)
    return loss, alpha


def selection_logs(selected: torch.Tensor, labels: torch.Tensor,
                   clean: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-sample means of one batch's selection (boolean `selected` (B,)): true positives, selected and
    correctly labelled counts / B; the trainer turns their epoch sums into the selection F1 (Fig. 4a)."""
    correct = labels == clean
    n = labels.shape[0]
    return {"select_tp": (selected & correct).sum() / n, "select_n": selected.sum() / n,
            "select_clean": correct.sum() / n}


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
class Standard(_TableOne, _CrossEntropy):
    """CE (Tables 1 and 3); `alasca: true` is Algorithm 1, the same loss as the `alasca` method."""

    table3_label = "Standard"
    table1_label = "Standard"

    def base_loss(self, run: AlascaRun, main32: torch.Tensor, labels: torch.Tensor,
                  index: torch.Tensor) -> torch.Tensor:
        return L.cross_entropy(main32, labels)


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


@method("gce")
class Gce(_TableOne):
    table1_label = "GCE"

    def base_loss(self, run: AlascaRun, main32: torch.Tensor, labels: torch.Tensor,
                  index: torch.Tensor) -> torch.Tensor:
        return B.gce_loss(main32, labels, run.settings.gce_q)


@method("sce")
class Sce(_TableOne):
    table1_label = "SCE"

    def base_loss(self, run: AlascaRun, main32: torch.Tensor, labels: torch.Tensor,
                  index: torch.Tensor) -> torch.Tensor:
        return B.sce_loss(main32, labels, run.settings.sce_alpha, run.settings.sce_beta)


@method("elr")
class Elr(_TableOne):
    """ELR: the per-sample target memory lives in `run.extras["elr"]`, indexed by dataset position."""

    table1_label = "ELR"

    def setup(self, run: AlascaRun) -> None:
        settings = run.settings
        run.extras["elr"] = B.EarlyLearningRegularisation(
            len(run.splits.train), run.splits.num_classes, settings.elr_beta, settings.elr_lam, run.device)

    def base_loss(self, run: AlascaRun, main32: torch.Tensor, labels: torch.Tensor,
                  index: torch.Tensor) -> torch.Tensor:
        return run.extras["elr"](main32, labels, index)


@method("coteaching")
class CoTeaching(_TableOne):
    """Co-teaching: the trainer runs two networks on the same batches and calls `pair_loss`; each network's
    CE is the mean over the *other* network's ⌊(1 − r_e)·B⌋ smallest-CE samples, r_e = linspace(0, r,
    `coteach_num_gradual`)[e] (then r), r = `coteach_forget_rate` or the realised noise rate. With ALASCA,
    both networks' ACs get ALS on the whole batch from one EMA table that both update, in turn, as the
    official code's single criterion object does."""

    table1_label = "Co-teaching"
    two_networks = True

    def setup(self, run: AlascaRun) -> None:
        rate = run.settings.coteach_forget_rate
        if rate is None:
            rate = float((run.splits.train.labels != run.splits.clean_labels).float().mean())
        run.extras["forget_rate"] = rate

    def forget_rate(self, run: AlascaRun) -> float:
        return B.coteaching_forget_rate(run.position, run.extras["forget_rate"],
                                        run.settings.coteach_num_gradual)

    def pair_loss(
        self,
        run: AlascaRun,
        first: tuple[torch.Tensor, Sequence[torch.Tensor]],
        second: tuple[torch.Tensor, Sequence[torch.Tensor]],
        labels: torch.Tensor,
        index: torch.Tensor,
    ) -> BatchLoss:
        """Both networks' losses, summed (their parameters are disjoint, so one backward gives each its own
        gradient); α̃ and the selection logs of the exchanged sets (both networks' together)."""
        (main1, acs1), (main2, acs2) = first, second
        main1, main2 = main1.float(), main2.float()
        keep1, keep2 = B.coteaching_select(main1, main2, labels, self.forget_rate(run))
        base1 = L.cross_entropy(main1[keep2], labels[keep2])  # network 1 learns network 2's small-loss set
        base2 = L.cross_entropy(main2[keep1], labels[keep1])
        loss1, alpha = with_alasca(run, base1, main1, acs1, labels, index)
        loss2, _ = with_alasca(run, base2, main2, acs2, labels, index)
        clean = run.splits.clean_labels[index]
        logs: dict[str, torch.Tensor | float] = {}
        for keep in (keep2, keep1):
            mask = labels < 0  # all False
            mask[keep] = True
            for key, value in selection_logs(mask, labels, clean).items():
                logs[key] = logs.get(key, 0.0) + value / 2
        return loss1 + loss2, alpha, logs


class _EpochSelection(_TableOne):
    """A method that selects samples once per epoch (after `select_warmup_epochs` on every sample) into
    `run.extras["selected"]` / `["weight"]` and trains on the selected samples of each batch."""

    def setup(self, run: AlascaRun) -> None:
        every = run.splits.train.labels >= 0  # all True: no selection before the warm-up ends
        run.extras["selected"], run.extras["weight"] = every, every.float()

    def start_epoch(self, run: AlascaRun) -> dict[str, float]:
        if run.position < run.settings.select_warmup_epochs:
            return {}
        logits, feats = S.training_pass(run.phase.net, run.settings, run.splits)
        selected, weight = self.select(run, logits, feats)
        run.extras["selected"], run.extras["weight"] = selected, weight
        return {"selected_frac": float(selected.float().mean())}

    def select(self, run: AlascaRun, logits: torch.Tensor,
               feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(selected mask, per-sample weight) over the training set."""
        raise NotImplementedError

    def selected_loss(self, ce: torch.Tensor, selected: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """The batch's base loss from per-sample CE and the selection (no host synchronisation)."""
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
        main32 = main.float()
        selected, weight = run.extras["selected"][index], run.extras["weight"][index]
        ce = L.cross_entropy(main32, labels, reduction="none")
        base = self.selected_loss(ce, selected, weight)
        loss, alpha = with_alasca(run, base, main32, acs, labels, index)
        return loss, alpha, selection_logs(selected, labels, run.splits.clean_labels[index])


@method("crust")
class Crust(_EpochSelection):
    """CRUST: Σ_{i selected} w_i·CE_i / B with w_i the cluster size of medoid i, an estimate of the mean CE
    over all the samples the batch's medoids stand for (Σ_i w_i = n per class)."""

    table1_label = "CRUST"

    def select(self, run: AlascaRun, logits: torch.Tensor,
               feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return S.crust_selection(logits, run.splits.train.labels, run.splits.num_classes,
                                 run.settings.crust_fraction)

    def selected_loss(self, ce: torch.Tensor, selected: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return (ce * weight * selected).sum() / ce.shape[0]


@method("fine")
class Fine(_EpochSelection):
    """FINE: the mean CE over the batch's samples that FINE calls clean (0 when none is)."""

    table1_label = "FINE"

    def select(self, run: AlascaRun, logits: torch.Tensor,
               feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        selected = S.fine_selection(feats, run.splits.train.labels, run.settings.fine_threshold, run.seed)
        return selected, selected.float()  # weight 1 (unused)

    def selected_loss(self, ce: torch.Tensor, selected: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return (ce * selected).sum() / selected.sum().clamp(min=1)


def table1_methods() -> list[str]:
    """Table 1's base methods (each a row and, with `alasca: true`, its "+ ALASCA" row), in table order."""
    return [name for name in table_order() if getattr(METHODS[name], "table1_label", None)]


def table_order() -> list[str]:
    """Method names in the order they are defined here (the tables' row order)."""
    return METHODS.in_order()
