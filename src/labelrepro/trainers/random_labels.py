"""Seed 000 (Becker & Risse): training with random-label prediction heads.

Every training sample gets one fixed random label s in {0..n-1}, drawn once per run from the run's seed
and written next to the run's metrics. The network is a backbone (VGG16 or WRN-16-4) wrapped by
`RandomLabelHeadsNet`; one backward pass of `random_label_losses(...)["loss"]` trains the class head and
backbone on L_class (+ lambda L_reg) and the random-label part on L_rnd only (the routing of §2).

Per epoch the run records the mean training losses, and in evaluation mode the training accuracy (on
the clean and on the possibly noisy labels), the random-label accuracy on the training set (the true
class's group predicting s; chance = 1/n) and the test accuracy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import torch

from labelrepro.core.seeding import make_generator
from labelrepro.models.random_label_heads import (
    RandomLabelHeadsNet,
    draw_random_labels,
    random_label_losses,
)
from labelrepro.models.vgg import VGG16
from labelrepro.models.wrn import wrn16_4
from labelrepro.trainers import supervised
from labelrepro.trainers.job import Job


@dataclass(frozen=True, kw_only=True)
class Settings(supervised.OptimSettings):
    """Hyperparameters of a random-label-heads run (paper values in workflow/experiments/)."""

    model: Literal["vgg16", "wrn16_4"]
    num_random_labels: int
    dataset: Literal["cifar10", "cifar100"] = "cifar100"
    train_subset: int = 0
    test_subset: int = 0
    lam: float = 0.0
    copy_depth: int = 1
    width_multiplier: float = 1.0
    tail_mode: Literal["shared", "per_class"] = "shared"
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


def build_network(settings: Settings, num_classes: int, seed: int) -> RandomLabelHeadsNet:
    generator = make_generator(seed, "init")
    if settings.model == "vgg16":
        backbone: torch.nn.Module = VGG16(
            num_classes=num_classes, classifier=settings.vgg_classifier, generator=generator
        )
    else:
        backbone = wrn16_4(num_classes=num_classes, generator=generator)
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
            out = net(supervised.to_input(images, settings.channels_last), with_reg=False)
        predicted = out.logits.argmax(-1)
        counts["train_acc"] += (predicted == splits.clean_labels[index]).sum().item()
        counts["train_acc_noisy"] += (predicted == labels).sum().item()
        group = out.rnd_logits[torch.arange(len(index), device=device), labels]
        counts["rnd_acc"] += (group.argmax(-1) == s[index]).sum().item()
    for _, images, labels in supervised.eval_batches(splits.test, settings.eval_batch_size):
        with supervised.autocast(device, settings.amp):
            out = net(supervised.to_input(images, settings.channels_last), with_reg=False)
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
        out = forward(supervised.to_input(images, settings.channels_last), with_reg=with_reg)
        losses = random_label_losses(out, labels, random_labels, settings.lam, settings.normalization)
    optimizer.zero_grad(set_to_none=True)
    losses["loss"].backward()
    optimizer.step()
    return losses


def train(job: Job) -> None:
    """Train one seed (CIFAR-size models are not batched across seeds)."""
    settings, seed, splits = supervised.single_seed_setup(job, Settings, "random_labels")
    device = job.device
    s = draw_random_labels(len(splits.train), settings.num_random_labels, seed).to(device)
    net = supervised.prepare_model(build_network(settings, splits.num_classes, seed), device,
                                   settings.channels_last)
    optimizer = supervised.build_optimizer(settings, net.parameters())
    batches = supervised.train_batches(splits, settings, seed)
    scheduler = supervised.build_scheduler(settings, optimizer, len(batches))
    forward = supervised.maybe_compile(net, settings.compile)
    with_reg = settings.lam > 0 or settings.single_output

    checkpointer = job.checkpointer()
    rows: list[dict[str, Any]] = []
    epoch = 0
    state = checkpointer.load()
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        batches.generator.set_state(state["generator"])
        rows, epoch = state["rows"], state["epoch"]
    progress = job.progress(total=settings.epochs, unit="epoch", start=epoch)
    if state is not None:
        progress.message(f"resumed from checkpoint at epoch {epoch} ({checkpointer.path})")

    while epoch < settings.epochs:
        net.train()
        sums: dict[str, float] = defaultdict(float)
        seen = 0
        for index, images, labels in batches:
            losses = train_step(forward, optimizer, settings, images, labels, s[index], with_reg)
            scheduler.step()
            for key in ("loss", "class", "rnd", "reg"):
                sums[key] += losses[key].item() * len(index)
            seen += len(index)
        epoch += 1
        metrics = evaluate(net, settings, splits, s)
        rows.append(
            {
                "seed": seed,
                "epoch": epoch,
                "num_random_labels": settings.num_random_labels,
                "lr": optimizer.param_groups[0]["lr"],
                **{f"loss_{k}" if k != "loss" else "loss": v / seen for k, v in sums.items()},
                **metrics,
            }
        )
        progress.update(1, train_acc=metrics["train_acc"], test_acc=metrics["test_acc"],
                        rnd_acc=metrics["rnd_acc"])
        if checkpointer.due() or epoch == settings.epochs:
            checkpointer.save(
                {
                    "model": net.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "generator": batches.generator.get_state(),
                    "rows": rows,
                    "epoch": epoch,
                }
            )
    progress.close()
    random_labels = pd.DataFrame({"index": range(len(s)), "random_label": s.cpu().numpy()})
    job.write_runs(
        {seed: pd.DataFrame(rows)},
        extra={"train_size": len(splits.train), "test_size": len(splits.test)},
        files={seed: {"random_labels.csv": random_labels}},
    )
    checkpointer.clear()
