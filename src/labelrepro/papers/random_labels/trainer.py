"""Seed 000 (Becker & Risse): training with random-label prediction heads.

Every training sample gets one fixed random label s in {0..n-1}, drawn once per run from the run's seed
and written next to the run's metrics. The network is a backbone (VGG16 or WRN-16-4) wrapped by
`RandomLabelHeadsNet`; one backward pass of `random_label_losses(...)["loss"]` trains the class head and
backbone on L_class (+ lambda L_reg) and the random-label part on L_rnd only (the routing of §2).

Per epoch the run records the mean training losses, and in evaluation mode the training accuracy (on
the clean and on the possibly noisy labels), the random-label accuracy on the training set (the true
class's group predicting s; chance = 1/n) and the test accuracy.

Regularisers (Figs. 2, 3B/C, A.1-A.3): dropout inside the WRN blocks (`dropout`), weight decay with or
without the random-label heads (`weight_decay`, `head_weight_decay`, via `parameter_groups`), label
smoothing of L_class (`label_smoothing`, A.4 Eq. 2), λ (`lam`) and augmentation (`augment`).
`RandomLabelsRun` is one seed's run, one epoch per unit of `labelrepro.engine.loop`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import torch

from labelrepro.core.seeding import make_generator
from labelrepro.engine import image as supervised
from labelrepro.engine import optim
from labelrepro.engine.job import Job
from labelrepro.engine.loop import Run, SeedOutput
from labelrepro.models.vgg import VGG16
from labelrepro.models.wrn import WideResNet
from labelrepro.papers.random_labels.heads import (
    RandomLabelHeadsNet,
    draw_random_labels,
    random_label_losses,
    true_group,
)
from labelrepro.papers.random_labels.settings import RandomLabelsSettings as Settings


def build_network(settings: Settings, num_classes: int, seed: int) -> RandomLabelHeadsNet:
    generator = make_generator(seed, "init")
    if settings.model == "vgg16":
        backbone: torch.nn.Module = VGG16(
            num_classes=num_classes, classifier=settings.vgg_classifier, generator=generator
        )
    else:
        backbone = WideResNet(settings.wrn_depth, settings.wrn_width, num_classes, settings.dropout,
                              generator=generator)
    return RandomLabelHeadsNet(
        backbone,
        num_classes,
        settings.num_random_labels,
        copy_depth=settings.copy_depth,
        width_multiplier=settings.width_multiplier,
        tail_mode=settings.tail_mode,
        single_output=settings.single_output,
        generator=generator,
    )


def parameter_groups(net: RandomLabelHeadsNet, settings: Settings) -> list[dict[str, Any]]:
    """The optimiser's parameter groups: the backbone (feature extractor and class head) gets the run's
    `weight_decay`; the random-label heads get it too with `head_weight_decay: true` (the default, the
    same single decay for every parameter that the authors' related code applies) and none with false.

    Why the heads may be exempt: they are the probe that measures how much sample-specific information
    the features carry (§3.1). Decaying the probe lowers its accuracy without any change in the
    features, so "weight decay lowers random-label accuracy" may partly measure the probe itself; Fig. 2B
    is therefore drawn both ways. With equal decays the two groups update exactly as one group would."""
    heads = list(net.heads.parameters())
    head_ids = {id(p) for p in heads}
    backbone = [p for p in net.parameters() if id(p) not in head_ids]
    head_decay = settings.weight_decay if settings.head_weight_decay else 0.0
    return [
        {"params": backbone, "weight_decay": settings.weight_decay},
        {"params": heads, "weight_decay": head_decay},
    ]


@torch.no_grad()
def evaluate(
    net: RandomLabelHeadsNet, settings: Settings, splits: supervised.Splits, s: torch.Tensor
) -> dict[str, float]:
    """Accuracies in evaluation mode (batch-norm running statistics), as fractions."""
    net.eval()
    counts: dict[str, float] = defaultdict(float)
    device = splits.train.images.device
    for index, images, labels in supervised.eval_batches(splits.train, settings.eval_batch_size):
        with supervised.autocast(device, settings.amp):
            out = net(supervised.to_input(images, settings.channels_last), with_reg=False, labels=labels)
        predicted = out.logits.argmax(-1)
        counts["train_acc"] += (predicted == splits.clean_labels[index]).sum().item()
        counts["train_acc_noisy"] += (predicted == labels).sum().item()
        group = true_group(out.rnd_logits, labels)  # the heads are trained with the (noisy) given labels
        counts["rnd_acc"] += (group.argmax(-1) == s[index]).sum().item()
    for _, images, labels in supervised.eval_batches(splits.test, settings.eval_batch_size):
        with supervised.autocast(device, settings.amp):
            out = net(supervised.to_input(images, settings.channels_last), with_reg=False, labels=labels)
        counts["test_acc"] += (out.logits.argmax(-1) == labels).sum().item()
    n_train, n_test = len(splits.train), len(splits.test)
    return {
        "train_acc": counts["train_acc"] / n_train,
        "train_acc_noisy": counts["train_acc_noisy"] / n_train,
        "rnd_acc": counts["rnd_acc"] / n_train,
        "test_acc": counts["test_acc"] / n_test,
    }


def train_step(
    forward: Callable[..., Any],
    optimizer: torch.optim.Optimizer,
    settings: Settings,
    images: torch.Tensor,
    labels: torch.Tensor,
    random_labels: torch.Tensor,
    with_reg: bool,
) -> dict[str, torch.Tensor]:
    """One optimiser step on a batch (autocast, the three losses, backward); the learning-rate schedule
    is the caller's. Shared with benchmarks/bench_epoch_cost.py, so the benchmark times this code."""
    with supervised.autocast(images.device, settings.amp):
        out = forward(supervised.to_input(images, settings.channels_last), with_reg=with_reg, labels=labels)
        losses = random_label_losses(out, labels, random_labels, settings.lam, settings.normalization,
                                     settings.label_smoothing, settings.label_smoothing_convention)
    optimizer.zero_grad(set_to_none=True)
    losses["loss"].backward()
    optimizer.step()
    return losses


def loss_trace(
    run: RandomLabelsRun, steps: int, steps_per_epoch: int | None = None
) -> list[dict[str, float]]:
    """Train `run` for `steps` optimiser steps (cycling over its batches) and return each step's losses and
    learning rate: the stability check of tests/ and benchmarks/bench_epoch_cost.py.

    `steps_per_epoch` sets the length of an epoch for the learning-rate schedule (warm-up and cosine), so a
    small stand-in can follow the schedule of the real training set (CIFAR: ceil(50000 / batch) steps);
    None keeps the run's own. The step is the trainer's `train_step`."""
    if steps_per_epoch is not None:
        run.stage.scheduler = optim.build_scheduler(run.settings, run.optimizer, steps_per_epoch)
    run.net.train()
    trace: list[dict[str, float]] = []
    while len(trace) < steps:
        for index, images, labels in run.stage.batches:
            lr = run.optimizer.param_groups[0]["lr"]
            losses = train_step(run.forward, run.optimizer, run.settings, images, labels, run.s[index],
                                run.with_reg)
            run.stage.scheduler.step()
            trace.append({"lr": lr, **{key: value.item() for key, value in losses.items()}})
            if len(trace) == steps:
                break
    return trace


class RandomLabelsRun(Run):
    """One seed (CIFAR-size models are not batched across seeds); one unit is one epoch."""

    unit = "epoch"
    batch_seeds = False

    def __init__(self, job: Job, seeds: list[int]) -> None:
        super().__init__(job, seeds)
        # The construction order fixes the numbers: data and noise, random labels, network, optimiser,
        # batch stream, schedule.
        settings, seed, splits = supervised.single_seed_setup(job, Settings, "random_labels")
        self.settings, self.seed, self.splits = settings, seed, splits
        device = job.device
        self.s = draw_random_labels(len(splits.train), settings.num_random_labels, seed).to(device)
        net = supervised.prepare_model(
            build_network(settings, splits.num_classes, seed), device, settings.channels_last
        )
        self.stage = supervised.Stage(net, settings, splits, seed, params=parameter_groups(net, settings))
        self.net, self.optimizer = net, self.stage.optimizer
        self.forward = supervised.maybe_compile(self.net, settings.compile)
        self.with_reg = settings.lam > 0 or settings.single_output
        self.rows: list[dict[str, Any]] = []
        self.total = settings.epochs

    def advance(self) -> dict[str, float]:
        settings, s = self.settings, self.s
        self.net.train()
        sums: dict[str, float] = defaultdict(float)
        seen = 0
        for index, images, labels in self.stage.batches:
            losses = train_step(self.forward, self.optimizer, settings, images, labels, s[index],
                                self.with_reg)
            self.stage.scheduler.step()
            for key in ("loss", "class", "rnd", "reg"):
                sums[key] += losses[key].item() * len(index)
            seen += len(index)
        metrics = evaluate(self.net, settings, self.splits, s)
        self.rows.append(
            {
                "seed": self.seed,
                "epoch": self.position + 1,
                "num_random_labels": settings.num_random_labels,
                "lr": self.optimizer.param_groups[0]["lr"],
                **{f"loss_{k}" if k != "loss" else "loss": v / seen for k, v in sums.items()},
                **metrics,
            }
        )
        return {key: metrics[key] for key in ("train_acc", "test_acc", "rnd_acc")}

    def state_dict(self) -> dict[str, Any]:
        return {**self.stage.state_dict(), "rows": self.rows, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stage.load_state_dict(state)
        self.rows = list(state["rows"])
        self.position = state["position"]

    def outputs(self) -> dict[int, SeedOutput]:
        random_labels = {"index": list(range(len(self.s))), "random_label": self.s.cpu().tolist()}
        return {
            self.seed: SeedOutput(
                rows=self.rows,
                files={"random_labels.csv": random_labels},
                extra={"train_size": len(self.splits.train), "test_size": len(self.splits.test)},
            )
        }


RUN = RandomLabelsRun
