"""Seed 003 §6.4, CIFAR-10: ResNet-20 with and without label smoothing, and the fraction of active units of
every ReLU layer for a typical test input.

One seed per job (a CIFAR network; batching seeds would not save time). Data live on the training device
with device-side flip + crop (`engine.image`, as the other CIFAR trainers); SGD with momentum, weight
decay and the multistep schedule of the experiment file; loss = cross-entropy against the smoothed
targets of the shared `losses/label_smoothing.py` (p = 0 is plain cross-entropy). Per epoch a row with
the training loss and the test accuracy; after the last epoch, one row per ReLU layer (`kind: layer`,
in forward order, the last = the penultimate layer, 64 x 8 x 8 = 4096 units) with its fraction of
active units averaged over the test set in evaluation mode.
"""

from __future__ import annotations

from typing import Any

import torch

from labelrepro.core.seeding import make_generator
from labelrepro.engine import image as supervised
from labelrepro.engine.job import Job
from labelrepro.engine.loop import Run, SeedOutput
from labelrepro.losses.label_smoothing import label_smoothing_cross_entropy
from labelrepro.models.resnet_he_cifar import ResNetHeCifar
from labelrepro.papers.sparsity.metrics import ReluActivity
from labelrepro.papers.sparsity.settings import CifarSettings as Settings


@torch.no_grad()
def test_accuracy_and_activity(
    net: ResNetHeCifar, settings: Settings, splits: supervised.Splits
) -> tuple[float, dict[str, float], dict[str, int]]:
    """Test accuracy and, per ReLU layer, the mean fraction of active units over the test images."""
    net.eval()
    correct = 0
    device = splits.test.images.device
    with ReluActivity(net.relu_layers()) as activity:
        for _, images, labels in supervised.eval_batches(splits.test, settings.eval_batch_size):
            with supervised.autocast(device, settings.amp):
                logits = net(supervised.to_input(images, settings.channels_last))
            correct += (logits.argmax(-1) == labels).sum().item()
    return correct / len(splits.test), activity.fractions(), activity.units


class CifarRun(Run):
    """One seed; one unit is one epoch."""

    unit = "epoch"
    batch_seeds = False

    def __init__(self, job: Job, seeds: list[int]) -> None:
        super().__init__(job, seeds)
        settings, seed, splits = supervised.single_seed_setup(job, Settings, "sparsity_cifar")
        self.settings, self.seed, self.splits = settings, seed, splits
        net = ResNetHeCifar(settings.depth, splits.num_classes, make_generator(seed, "init"))
        self.net = supervised.prepare_model(net, job.device, settings.channels_last)
        self.stage = supervised.Stage(self.net, settings, splits, seed)
        self.rows: list[dict[str, Any]] = []
        self.total = settings.epochs

    def advance(self) -> dict[str, float]:
        settings, stage = self.settings, self.stage
        self.net.train()
        total = torch.zeros((), dtype=torch.float64, device=self.splits.train.images.device)
        seen = 0
        lr = stage.optimizer.param_groups[0]["lr"]
        for _, images, labels in stage.batches:
            with supervised.autocast(images.device, settings.amp):
                logits = self.net(supervised.to_input(images, settings.channels_last))
                loss = label_smoothing_cross_entropy(logits.float(), labels, settings.label_smoothing,
                                                     settings.smoothing_convention)
            stage.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            stage.optimizer.step()
            stage.scheduler.step()
            total += loss.detach().double() * len(labels)
            seen += len(labels)
        accuracy, fractions, _ = test_accuracy_and_activity(self.net, settings, self.splits)
        penultimate = list(fractions.values())[-1]
        self.rows.append({"kind": "epoch", "seed": self.seed, "epoch": self.position + 1, "lr": lr,
                          "train_loss": total.item() / seen, "test_acc": accuracy,
                          "active_penultimate": penultimate})
        return {"test_acc": accuracy, "active_pen": penultimate}

    def state_dict(self) -> dict[str, Any]:
        return {**self.stage.state_dict(), "rows": self.rows, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stage.load_state_dict(state)
        self.rows = list(state["rows"])
        self.position = state["position"]

    def outputs(self) -> dict[int, SeedOutput]:
        accuracy, fractions, units = test_accuracy_and_activity(self.net, self.settings, self.splits)
        last = len(fractions) - 1
        layers = [
            {"kind": "layer", "seed": self.seed, "epoch": self.settings.epochs, "layer_index": i,
             "layer": name, "units": units[name], "active_frac": value, "penultimate": i == last,
             "test_acc": accuracy}
            for i, (name, value) in enumerate(fractions.items())
        ]
        return {self.seed: SeedOutput(rows=self.rows + layers,
                                      extra={"train_size": len(self.splits.train),
                                             "test_size": len(self.splits.test)})}


RUN = CifarRun
