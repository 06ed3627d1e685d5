"""Seed 002 (Ko, Yi & Yun, ALASCA): the runs of Table 3 (efficiency, AC architecture) and Table 4
(component analysis) — ResNet-34 on noisy CIFAR-10, one seed per job.

`method` selects one row's training objective (Algorithm 1 and Section 4.3; α̃ = 1 − confidence in the
given label, from the main head, detached):

===========  ==========================================================================================
standard     CE on the main head, no ACs.
uls          CE against the uniformly smoothed target (α = `uls_alpha`) on the main head, no ACs.
uls_ac       CE on the main head + λ·Σ_k ULS on the ACs ("ULS + AC").
als          ALS (Eq. 2) on the main head with the instantaneous α̃ = 1 − S(f(x))_y, no ACs.
als_ac       CE on the main head + λ·Σ_k ALS on the ACs, instantaneous α̃ ("ALS + AC").
als_ema      ALS on the main head with the EMA confidence α̃ = 1 − S(t/τ)_y, no ACs ("+ EMA").
alasca       CE on the main head + λ·Σ_k ALS on the ACs with EMA confidence (Algorithm 1).
har          HAR (Cao et al. 2021): CE stage, then a fresh network with adaptive Jacobian penalty.
cdr          CDR (Xia et al. 2021): CE with the gradients of non-critical weights masked each step.
===========  ==========================================================================================

Every run with ACs records the test accuracy of the main head (`test_acc`, "ALASCA") and of the
ensemble of all classifiers (`test_acc_ens`, "ALASCA*") from the same network, so the starred row needs
no second training. Each epoch also records the training time and peak memory (`core.efficiency`) from
which Table 3's "× Standard" columns are computed.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import torch
import torch.nn.functional as F

from labelrepro.core.efficiency import EfficiencyMeter
from labelrepro.core.seeding import make_generator
from labelrepro.losses import alasca as als
from labelrepro.losses import har
from labelrepro.models.auxiliary import AC_TYPES, ResNetWithACs
from labelrepro.models.resnet_cifar import ResNetCifar, resnet34_cifar
from labelrepro.noise import canonical_spec
from labelrepro.optim.cdr import mask_noncritical_gradients_
from labelrepro.trainers import supervised
from labelrepro.trainers.job import Job

Method = Literal["standard", "uls", "uls_ac", "als", "als_ac", "als_ema", "alasca", "har", "cdr"]
METHODS_WITH_ACS = ("uls_ac", "als_ac", "alasca")
AC_POSITIONS = {"third": (3,), "all": (1, 2, 3)}


@dataclass(frozen=True, kw_only=True)
class Settings(supervised.OptimSettings):
    """Hyperparameters of one ALASCA-paper run (paper values in workflow/experiments/alasca_*.yaml)."""

    method: Method
    noise: str
    noise_models: dict[str, dict[str, Any]]
    dataset: Literal["cifar10", "cifar100"] = "cifar10"
    base_width: int = 64
    train_subset: int = 0
    test_subset: int = 0
    ac_type: Literal["mlp", "bottleneck", "residual"] = "bottleneck"
    ac_positions: Literal["third", "all"] = "all"
    lam: float = 2.0
    beta: float = 0.7
    tau: float = 1.0 / 3.0
    uls_alpha: float = 0.5
    als_form: Literal["eq2", "ls_paper", "ls_official"] = "eq2"
    ensemble_heads: Literal["all", "main_and_last"] = "all"
    ensemble_combine: Literal["logits", "probs"] = "logits"
    har_lam: float = 0.01
    har_power: float = 0.6
    har_stage1_epochs: int = 1
    cdr_clip_rate: float | None = None
    report_last_epochs: int = 1
    augment: dict[str, Any] = field(default_factory=dict)
    amp: bool = True
    channels_last: bool = True
    eval_batch_size: int = 1000

    def __post_init__(self) -> None:
        if self.noise not in self.noise_models:
            raise ValueError(f"noise '{self.noise}' is not one of noise_models: {sorted(self.noise_models)}")
        for name, spec in self.noise_models.items():
            try:
                canonical_spec(spec)
            except ValueError as error:
                raise ValueError(f"noise_models.{name}: {error}") from None
        if self.epochs < 1 or self.batch_size < 1 or self.base_width < 1:
            raise ValueError("epochs, batch_size and base_width must be >= 1")
        if self.ac_type not in AC_TYPES:
            raise ValueError(f"ac_type must be one of {AC_TYPES}")
        if not 0.0 <= self.uls_alpha <= 1.0:
            raise ValueError(f"uls_alpha must lie in [0, 1], got {self.uls_alpha}")
        if self.lam < 0 or self.har_lam < 0:
            raise ValueError("lam and har_lam must be >= 0")
        if self.method == "har" and self.har_stage1_epochs < 1:
            raise ValueError("HAR needs har_stage1_epochs >= 1 (its first stage estimates the uncertainty)")
        if self.cdr_clip_rate is not None and not 0.0 <= self.cdr_clip_rate < 1.0:
            raise ValueError(f"cdr_clip_rate must lie in [0, 1), got {self.cdr_clip_rate}")
        if self.report_last_epochs < 1:
            raise ValueError("report_last_epochs must be >= 1")

    @property
    def label_noise(self) -> dict[str, Any]:
        return dict(self.noise_models[self.noise])

    @property
    def has_acs(self) -> bool:
        return self.method in METHODS_WITH_ACS

    @property
    def stage1_epochs(self) -> int:
        """Epochs of HAR's first (plain CE) stage; 0 for every other method."""
        return self.har_stage1_epochs if self.method == "har" else 0

    def clip_rate(self) -> float:
        """CDR's τ: the configured value, else the nominal noise rate of the run's label noise."""
        if self.cdr_clip_rate is not None:
            return self.cdr_clip_rate
        return float(canonical_spec(self.label_noise).get("rate", 0.0))


class Network(torch.nn.Module):
    """Backbone with or without ACs behind one interface: forward → (main logits, AC logits, stage outputs).

    The stage outputs are returned so that HAR can differentiate the logits with respect to them.
    """

    def __init__(self, backbone: ResNetCifar, acs: torch.nn.ModuleList, positions: tuple[int, ...]):
        super().__init__()
        self.backbone = backbone
        self.acs = acs
        self.positions = positions

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        feats = self.backbone.forward_features(x)
        main = self.backbone.classify(feats[-1])
        acs = [ac(feats[p - 1]) for ac, p in zip(self.acs, self.positions, strict=True)]
        return main, acs, feats[:-1]


def build_network(settings: Settings, num_classes: int, seed: int) -> Network:
    """ResNet-34 (+ ACs) initialised from the run's seed: every method starts from the same backbone."""
    generator = make_generator(seed, "init")
    backbone = resnet34_cifar(num_classes, generator=generator, base_width=settings.base_width)
    if not settings.has_acs:
        return Network(backbone, torch.nn.ModuleList(), ())
    with_acs = ResNetWithACs(backbone, settings.ac_type, AC_POSITIONS[settings.ac_positions], generator)
    return Network(backbone, with_acs.acs, with_acs.positions)


def objective(
    settings: Settings,
    main: torch.Tensor,
    acs: list[torch.Tensor],
    labels: torch.Tensor,
    index: torch.Tensor,
    ema: als.EmaConfidence | None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The loss of one minibatch for the methods of Table 4 and Standard/CDR; returns (loss, α̃ or None)."""
    method = settings.method
    main32 = main.float()
    acs32 = [a.float() for a in acs]
    if method in ("standard", "cdr", "har"):
        return F.cross_entropy(main32, labels), None
    if method == "uls":
        return als.uniform_label_smoothing_loss(main32, labels, settings.uls_alpha), None
    if method == "uls_ac":
        loss = F.cross_entropy(main32, labels)
        for ac in acs32:
            loss = loss + settings.lam * als.uniform_label_smoothing_loss(ac, labels, settings.uls_alpha)
        return loss, None
    if method in ("als_ema", "alasca"):
        assert ema is not None
        ema.update(index, main32)  # Algorithm 1 line 3, before α̃ (line 4)
        alpha = ema.smoothing_factor(index, labels)
    else:  # als, als_ac: instantaneous confidence of the main head (Eq. 2)
        alpha = als.adaptive_smoothing_factor(torch.softmax(main32.detach(), dim=1), labels)
    if method in ("als", "als_ema"):
        return als.adaptive_label_smoothing_loss(main32, labels, alpha, form=settings.als_form), alpha
    loss = als.alasca_loss(main32, acs32, labels, F.cross_entropy, alpha, settings.lam, settings.als_form)
    return loss, alpha


@torch.no_grad()
def evaluate(net: Network, settings: Settings, splits: supervised.Splits) -> dict[str, float]:
    """Test accuracy of the main head and (with ACs) of the ensemble of all classifiers, as fractions."""
    net.eval()
    correct = defaultdict(float)
    device = splits.test.images.device
    for _, images, labels in supervised.eval_batches(splits.test, settings.eval_batch_size):
        with supervised.autocast(device, settings.amp):
            main, acs, _ = net(supervised.to_input(images, settings.channels_last))
        correct["test_acc"] += (main.argmax(-1) == labels).sum().item()
        if acs:
            star = als.alasca_star_logits(
                main.float(), [a.float() for a in acs], settings.ensemble_combine, settings.ensemble_heads
            )
            correct["test_acc_ens"] += (star.argmax(-1) == labels).sum().item()
            for k, ac in enumerate(acs):
                correct[f"test_acc_ac{k + 1}"] += (ac.argmax(-1) == labels).sum().item()
    n = len(splits.test)
    metrics = {key: value / n for key, value in correct.items()}
    metrics.setdefault("test_acc_ens", math.nan)
    return metrics


@torch.no_grad()
def har_strengths(net: Network, settings: Settings, splits: supervised.Splits) -> torch.Tensor:
    """HAR's per-sample τ_i from the stage-1 model: (1 − p(ỹ_i|x_i))^power normalised to mean 1."""
    net.eval()
    uncertainty = torch.empty(len(splits.train), device=splits.train.images.device)
    for index, images, labels in supervised.eval_batches(splits.train, settings.eval_batch_size):
        with supervised.autocast(index.device, settings.amp):
            main, _, _ = net(supervised.to_input(images, settings.channels_last))
        uncertainty[index] = har.label_uncertainty(torch.softmax(main.float(), dim=1), labels)
    return har.adaptive_strengths(uncertainty, settings.har_power)


class Phase:
    """Network, optimiser and schedule of one training stage (HAR has two; every other method one)."""

    def __init__(self, settings: Settings, splits: supervised.Splits, seed: int, device: torch.device,
                 epochs: int):
        self.net = supervised.prepare_model(
            build_network(settings, splits.num_classes, seed), device, settings.channels_last
        )
        stage_settings = dataclasses.replace(settings, epochs=epochs)
        self.optimizer = supervised.build_optimizer(stage_settings, self.net.parameters())
        self.batches = supervised.train_batches(splits, settings, seed)
        self.scheduler = supervised.build_scheduler(stage_settings, self.optimizer, len(self.batches))

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generator": self.batches.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.batches.generator.set_state(state["generator"])


def train(job: Job) -> None:
    """Train one seed of one (noise, method) cell; HAR's two stages run back to back in the same job."""
    settings, seed, splits = supervised.single_seed_setup(job, Settings, "alasca")
    device = job.device
    meter = EfficiencyMeter(device)  # baseline: the loaded data, shared by every method
    stage1 = settings.stage1_epochs
    total_epochs = stage1 + settings.epochs
    phase = Phase(settings, splits, seed, device, stage1 or settings.epochs)
    ema = als.EmaConfidence(len(splits.train), splits.num_classes, settings.beta, settings.tau, device)
    strengths: torch.Tensor | None = None
    projection_gen = make_generator(seed, "har-projection")
    clip_rate = settings.clip_rate()

    checkpointer = job.checkpointer()
    rows: list[dict[str, Any]] = []
    epoch, train_time, peak_mb = 0, 0.0, 0.0
    state = checkpointer.load()
    if state is not None:
        epoch, rows = state["epoch"], state["rows"]
        train_time, peak_mb = state["train_time"], state["peak_mb"]
        if state["strengths"] is not None:
            strengths = state["strengths"].to(device)
            phase = Phase(settings, splits, seed, device, settings.epochs)
        phase.load_state_dict(state["phase"])
        ema.load_state_dict(state["ema"])
        projection_gen.set_state(state["projection_gen"])
    progress = job.progress(total=total_epochs, unit="epoch", start=epoch)
    if state is not None:
        progress.message(f"resumed from checkpoint at epoch {epoch} ({checkpointer.path})")

    while epoch < total_epochs:
        if settings.method == "har" and epoch == stage1 and strengths is None:
            strengths = har_strengths(phase.net, settings, splits)
            phase = Phase(settings, splits, seed, device, settings.epochs)  # stage 2: a fresh network
        in_stage2 = strengths is not None
        stage = (2 if in_stage2 else 1) if settings.method == "har" else 0  # 0: single-stage methods
        phase.net.train()
        sums: dict[str, float] = defaultdict(float)
        seen = 0
        meter.start()
        for index, images, labels in phase.batches:
            with supervised.autocast(device, settings.amp):
                main, acs, feats = phase.net(supervised.to_input(images, settings.channels_last))
                if settings.method == "har" and in_stage2:
                    assert strengths is not None
                    projection = torch.randn(main.shape, generator=projection_gen).to(device)
                    loss, penalty = har.har_loss(
                        main.float(), labels, feats, strengths[index], projection, settings.har_lam
                    )
                    sums["har_penalty"] += penalty.item() * len(index)
                    alpha = None
                else:
                    loss, alpha = objective(settings, main, acs, labels, index, ema)
            meter.sample()  # activations held
            phase.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            meter.sample()  # gradients held
            if settings.method == "cdr":
                sums["cdr_masked"] += mask_noncritical_gradients_(phase.net, clip_rate) * len(index)
            phase.optimizer.step()
            phase.scheduler.step()
            sums["loss"] += loss.item() * len(index)
            sums["train_acc_noisy"] += (main.argmax(-1) == labels).sum().item()
            if alpha is not None:
                noisy = labels != splits.clean_labels[index]
                sums["alpha_clean"] += alpha[~noisy].sum().item()
                sums["alpha_noisy"] += alpha[noisy].sum().item()
                sums["n_noisy"] += noisy.sum().item()
            seen += len(index)
        epoch_time = meter.stop()
        train_time += epoch_time
        peak_mb = max(peak_mb, meter.peak_memory_mb())
        epoch += 1
        metrics = evaluate(phase.net, settings, splits)
        row: dict[str, Any] = {
            "seed": seed,
            "epoch": epoch,
            "stage": stage,
            "lr": phase.optimizer.param_groups[0]["lr"],
            "loss": sums["loss"] / seen,
            "train_acc_noisy": sums["train_acc_noisy"] / seen,
            **metrics,
            "epoch_time_s": epoch_time,
            "train_time_s": train_time,
            "peak_mem_mb": peak_mb,
        }
        for key in ("har_penalty", "cdr_masked"):
            if key in sums:
                row[key] = sums[key] / seen
        if "alpha_clean" in sums:
            n_noisy = sums["n_noisy"]
            row["alpha_clean"] = sums["alpha_clean"] / max(1.0, seen - n_noisy)
            row["alpha_noisy"] = sums["alpha_noisy"] / n_noisy if n_noisy else math.nan
        rows.append(row)
        _add_running_means(rows, settings.report_last_epochs)
        progress.update(1, test_acc=metrics["test_acc"])
        if checkpointer.due() or epoch == total_epochs:
            checkpointer.save(
                {
                    "phase": phase.state_dict(),
                    "ema": ema.state_dict(),
                    "strengths": None if strengths is None else strengths.cpu(),
                    "projection_gen": projection_gen.get_state(),
                    "rows": rows,
                    "epoch": epoch,
                    "train_time": train_time,
                    "peak_mb": peak_mb,
                }
            )
    progress.close()
    noise_rate = (splits.train.labels != splits.clean_labels).float().mean().item()
    job.write_runs(
        {seed: pd.DataFrame(rows)},
        extra={
            "train_size": len(splits.train),
            "test_size": len(splits.test),
            "realised_noise_rate": noise_rate,
            "efficiency_device": device.type,
            "memory_measure": "cuda max_memory_allocated" if device.type == "cuda" else "cpu peak RSS",
        },
    )
    checkpointer.clear()


def _add_running_means(rows: list[dict[str, Any]], last: int) -> None:
    """`test_acc_avg`/`test_acc_ens_avg` on the newest row: the mean over its last `last` epochs of the
    current stage (the official code reports the mean test accuracy of the last 20 epochs)."""
    row = rows[-1]
    window = [r for r in rows if r["stage"] == row["stage"]][-last:]
    for key in ("test_acc", "test_acc_ens"):
        row[f"{key}_avg"] = sum(r[key] for r in window) / len(window)
