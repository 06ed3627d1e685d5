"""Seed 002 (Ko, Yi & Yun, ALASCA): the runs of Table 3 (efficiency, AC architecture) and Table 4
(component analysis) — ResNet-34 on noisy CIFAR-10, one seed per job.

`method` selects one row's training objective, declared with its table labels in
`labelrepro.papers.alasca.methods` (one class per method); this module runs it: the method's `loss` per
minibatch, its `after_backward` hook (CDR's masking) and, for a method with `stage1_epochs` (HAR), a
second stage on a fresh network.

Every run with ACs records the test accuracy of the main head (`test_acc`, "ALASCA") and of the
ensemble of all classifiers (`test_acc_ens`, "ALASCA*") from the same network, so the starred row needs
no second training. Each epoch also records the training time and peak memory (`core.efficiency`) from
which Table 3's "× Standard" columns are computed.

`RUN` (`AlascaRun`) is what the engine's loop (`labelrepro.engine.loop.train`) drives: one seed per run,
one epoch per unit, HAR's two stages inside the same run.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import torch

from labelrepro.core.efficiency import EfficiencyMeter
from labelrepro.core.seeding import make_generator
from labelrepro.engine import image as supervised
from labelrepro.engine.job import Job
from labelrepro.engine.loop import Run, SeedOutput
from labelrepro.models.resnet_cifar import ResNetCifar, resnet34_cifar
from labelrepro.papers.alasca import har
from labelrepro.papers.alasca import losses as als
from labelrepro.papers.alasca.auxiliary import ResNetWithACs
from labelrepro.papers.alasca.methods import METHODS, Method
from labelrepro.papers.alasca.settings import AlascaSettings as Settings

AC_POSITIONS = {"third": (3,), "all": (1, 2, 3)}


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


def new_stage(settings: Settings, splits: supervised.Splits, seed: int, device: torch.device,
              epochs: int) -> supervised.Stage:
    """Network (+ ACs), optimiser and schedule of one training stage (HAR has two; the others one)."""
    net = supervised.prepare_model(build_network(settings, splits.num_classes, seed), device,
                                   settings.channels_last)
    return supervised.Stage(net, settings, splits, seed, epochs)


class AlascaRun(Run):
    """One seed of one (noise, method) cell, an epoch per unit; a two-stage method's (HAR's) stages run
    back to back in the same run (stage-1 epochs, then the strengths and a fresh network for stage 2)."""

    def __init__(self, job: Job, seeds: list[int]) -> None:
        super().__init__(job, seeds)
        self.settings, self.seed, self.splits = supervised.single_seed_setup(job, Settings, "alasca")
        settings, seed, splits = self.settings, self.seed, self.splits
        self.device = device = job.device
        self.meter = EfficiencyMeter(device)  # baseline: the loaded data, shared by every method
        self.method: Method = METHODS[settings.method]
        self.stage1 = self.method.stage1_epochs(settings)
        self.total = self.stage1 + settings.epochs
        self.phase = new_stage(settings, splits, seed, device, self.stage1 or settings.epochs)
        self.ema = als.EmaConfidence(
            len(splits.train), splits.num_classes, settings.beta, settings.tau, device
        )
        self.strengths: torch.Tensor | None = None
        self.projection_gen = make_generator(seed, "har-projection")
        self.clip_rate = settings.clip_rate()
        self.rows: list[dict[str, Any]] = []
        self.train_time, self.peak_mb = 0.0, 0.0

    def advance(self) -> dict[str, float]:
        settings, splits, device, method = self.settings, self.splits, self.device, self.method
        if self.stage1 and self.position == self.stage1 and self.strengths is None:
            self.strengths = har_strengths(self.phase.net, settings, splits)
            # stage 2: a fresh network
            self.phase = new_stage(settings, splits, self.seed, device, settings.epochs)
        phase, meter = self.phase, self.meter
        in_stage2 = self.strengths is not None
        stage = (2 if in_stage2 else 1) if self.stage1 else 0  # 0: single-stage methods
        phase.net.train()
        sums: dict[str, float] = defaultdict(float)
        logged: dict[str, float] = defaultdict(float)  # the method's own logs (har_penalty, cdr_masked)
        seen = 0
        meter.start()
        for index, images, labels in phase.batches:
            with supervised.autocast(device, settings.amp):
                main, acs, feats = phase.net(supervised.to_input(images, settings.channels_last))
                loss, alpha, logs = method.loss(self, main, acs, feats, labels, index)
            _accumulate(logged, logs, len(index))
            meter.sample()  # activations held
            phase.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            meter.sample()  # gradients held
            _accumulate(logged, method.after_backward(self), len(index))
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
        self.train_time += epoch_time
        self.peak_mb = max(self.peak_mb, meter.peak_memory_mb())
        metrics = evaluate(phase.net, settings, splits)
        row: dict[str, Any] = {
            "seed": self.seed,
            "epoch": self.position + 1,
            "stage": stage,
            "lr": phase.optimizer.param_groups[0]["lr"],
            "loss": sums["loss"] / seen,
            "train_acc_noisy": sums["train_acc_noisy"] / seen,
            **metrics,
            "epoch_time_s": epoch_time,
            "train_time_s": self.train_time,
            "peak_mem_mb": self.peak_mb,
        }
        for key, total in logged.items():
            row[key] = total / seen
        if "alpha_clean" in sums:
            n_noisy = sums["n_noisy"]
            row["alpha_clean"] = sums["alpha_clean"] / max(1.0, seen - n_noisy)
            row["alpha_noisy"] = sums["alpha_noisy"] / n_noisy if n_noisy else math.nan
        self.rows.append(row)
        _add_running_means(self.rows, settings.report_last_epochs)
        return {"test_acc": metrics["test_acc"]}

    def state_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "phase": self.phase.state_dict(),
            "ema": self.ema.state_dict(),
            "strengths": None if self.strengths is None else self.strengths.cpu(),
            "projection_gen": self.projection_gen.get_state(),
            "rows": self.rows,
            "train_time": self.train_time,
            "peak_mb": self.peak_mb,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.position, self.rows = state["position"], state["rows"]
        self.train_time, self.peak_mb = state["train_time"], state["peak_mb"]
        if state["strengths"] is not None:  # saved in HAR's stage 2: its network, not stage 1's
            self.strengths = state["strengths"].to(self.device)
            self.phase = new_stage(self.settings, self.splits, self.seed, self.device, self.settings.epochs)
        self.phase.load_state_dict(state["phase"])
        self.ema.load_state_dict(state["ema"])
        self.projection_gen.set_state(state["projection_gen"])

    def outputs(self) -> dict[int, SeedOutput]:
        splits, device = self.splits, self.device
        noise_rate = (splits.train.labels != splits.clean_labels).float().mean().item()
        extra = {
            "train_size": len(splits.train),
            "test_size": len(splits.test),
            "realised_noise_rate": noise_rate,
            "efficiency_device": device.type,
            "memory_measure": "cuda max_memory_allocated" if device.type == "cuda" else "cpu peak RSS",
        }
        return {self.seed: SeedOutput(self.rows, extra=extra)}


RUN = AlascaRun


def _accumulate(sums: dict[str, float], logs: dict[str, float], batch_size: int) -> None:
    """Add a method's per-sample-mean logs of one batch to the epoch's sums (weighted by the batch)."""
    for key, value in logs.items():
        sums[key] += value * batch_size


def _add_running_means(rows: list[dict[str, Any]], last: int) -> None:
    """`test_acc_avg`/`test_acc_ens_avg` on the newest row: the mean over its last `last` epochs of the
    current stage (the official code reports the mean test accuracy of the last 20 epochs)."""
    row = rows[-1]
    window = [r for r in rows if r["stage"] == row["stage"]][-last:]
    for key in ("test_acc", "test_acc_ens"):
        row[f"{key}_avg"] = sum(r[key] for r in window) / len(window)
