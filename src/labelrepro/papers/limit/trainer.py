"""Seed 001 (Harutyunyan et al., ICML 2020): LIMIT and its baselines on MNIST (supplement Tables 4, 5).

One job trains one configuration (a method of `labelrepro.papers.limit.methods`, its hyperparameters,
noise rate p, training-set size n) on every split of `job.seeds` (the paper's 5 train/validation splits,
seeds 42-46). The engine (`labelrepro.engine.loop`) trains the splits one after the other, one
`LimitRun` each, with MNIST held on the device (read from disk once per process). Per split: Adam
(lr 1e-3, batch 256), up to `epochs` epochs, early stop after `patience` epochs without a new best
validation accuracy; the run reports the test accuracy of the best-validation checkpoint. An epoch is one
pass over the n training examples (so n = 10^3 means 4 optimiser steps per epoch at batch 256), followed
by one pass over the validation set.

LIMIT and soft reg. train a gradient predictor q (the Table 3 net with batch norm on its FC layer)
beside the classifier; the method's objective (`Method.objective`) is back-propagated once per batch.
FW and DMI start from the best-validation classifier of the CE run of the same split
(`LimitSettings.required_runs`; the workflow passes that run's folder as `job.inputs["init"]`), which
CE runs save as `seed-<k>/best_model.pt`.

metrics.csv has one row per epoch: training loss and accuracy on the noisy labels (train mode, during
the pass), validation accuracy, the best validation accuracy so far and its epoch, `test_acc` (the test
accuracy of that best-so-far checkpoint, evaluated when it changes) and `epoch_s`, the epoch's wall time;
with `test_every_epoch`, also `epoch_test_acc`, the current classifier's test accuracy (Fig. A0's curves).
The last row is the result.

CIFAR-10/100 (Tables 6, 7) use ResNet-34 for the classifier and q, flip + crop augmentation on the device,
and "+ init." methods whose q starts from the CE run's classifier (`Method.init_target`).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from labelrepro.core.config import settings_from_dict
from labelrepro.core.seeding import make_generator
from labelrepro.data.augment import DeviceAugment
from labelrepro.data.vision import DeviceBatchLoader, DeviceDataset, get_dataset_info
from labelrepro.engine import image as supervised
from labelrepro.engine.early_stopping import EarlyStopping
from labelrepro.engine.job import Job
from labelrepro.engine.loop import Run, SeedOutput
from labelrepro.engine.optim import build_optimizer
from labelrepro.models.resnet_cifar import resnet34_cifar
from labelrepro.papers.limit.data import load_raw, make_split, official_info
from labelrepro.papers.limit.methods import METHODS, Method
from labelrepro.papers.limit.mnist_net import MnistConvNet
from labelrepro.papers.limit.settings import LimitSettings as Settings

#: The file a run saves its best-validation classifier to, when another method starts from it.
BEST_MODEL_FILE = "best_model.pt"
#: The role of the run folder that FW/DMI start from (`LimitSettings.required_runs`).
INIT_ROLE = "init"
#: LIMIT runs (methods with a gradient predictor q) save the classifier and q of their best-validation
#: epoch here, {"classifier": ..., "predictor": ...}: the per-example gradient statistics of Figs. A1-A3
#: (papers/limit/gradient_stats.py) read it in a separate step, so the figures reuse the tables' runs.
BEST_NETS_FILE = "best_nets.pt"


@dataclass
class Nets:
    """The classifier and, for LIMIT and soft reg., the gradient predictor q."""

    classifier: torch.nn.Module
    predictor: torch.nn.Module | None

    def modules(self) -> list[torch.nn.Module]:
        return [m for m in (self.classifier, self.predictor) if m is not None]

    def parameters(self) -> list[torch.nn.Parameter]:
        return [p for m in self.modules() for p in m.parameters()]

    def state_dict(self) -> dict[str, Any]:
        return {"classifier": self.classifier.state_dict(),
                "predictor": None if self.predictor is None else self.predictor.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.classifier.load_state_dict(state["classifier"])
        if self.predictor is not None:
            self.predictor.load_state_dict(state["predictor"])


def build_nets(settings: Settings, num_classes: int, seed: int, device: torch.device) -> Nets:
    """MNIST: the Table 3 classifier (bias-free last layer when the objective reads the features, as the
    official code does for Eq. 11) and q when the method trains one. CIFAR: ResNet-34 with the 3x3
    stride-1 stem and no max-pool (`models.resnet_cifar`, supplement B) for both, q with the same
    architecture (official configs/double-resnet-cifar10.json), each initialised from its own seeded
    generator."""
    method = METHODS[settings.method]
    if settings.dataset != "mnist":
        classifier = resnet34_cifar(num_classes, make_generator(seed, "init"), base_width=settings.base_width)
        predictor = None
        if method.predictor is not None:
            predictor = resnet34_cifar(num_classes, make_generator(seed, "init-predictor"),
                                       base_width=settings.base_width).to(device)
        return Nets(classifier.to(device), predictor)
    torch.manual_seed(make_generator(seed, "init").initial_seed())  # nn.Module init reads the global RNG
    classifier = MnistConvNet(num_classes, last_layer_bias=not method.needs_features).to(device)
    predictor = None
    if method.predictor is not None:
        predictor = MnistConvNet(num_classes, bn_on_fc=True).to(device)
    return Nets(classifier, predictor)


def is_start_of_another(method: Method) -> bool:
    """True when some method starts from this one's best model (CE: FW, DMI, LIMIT + init.), so runs
    save it."""
    return any(METHODS[name].starts_from == method.name for name in METHODS)


def load_start_model(net: torch.nn.Module, state: dict[str, torch.Tensor], copy_what: str) -> None:
    """Copy a stored classifier into `net`: its whole state (`state`) or, as the official code, its
    parameters only (`parameters`: batch-norm running statistics start fresh). The architectures must
    match; a missing parameter is an error, not a silent partial copy."""
    if copy_what == "state":
        net.load_state_dict(state)
        return
    parameters = dict(net.named_parameters())
    missing = sorted(set(parameters) - set(state))
    if missing:
        raise KeyError(f"the start model lacks parameters {missing[:5]} of the net it initialises")
    with torch.no_grad():
        for name, value in parameters.items():
            value.copy_(state[name])


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: DeviceDataset, batch_size: int) -> float:
    """Accuracy in evaluation mode (batch-norm running statistics)."""
    model.eval()
    correct = 0
    for _, images, labels in supervised.eval_batches(data, batch_size):
        correct += int((model(images).argmax(1) == labels).sum().item())
    return correct / len(data)


@torch.no_grad()
def softmax_outputs(model: torch.nn.Module, data: DeviceDataset, batch_size: int) -> torch.Tensor:
    model.eval()
    return torch.cat([torch.softmax(model(x), 1) for _, x, _ in supervised.eval_batches(data, batch_size)])


class LimitRun(Run):
    """One split (seed) of one configuration: data, nets, optimiser, random streams, early stopping."""

    unit = "epoch"
    batch_seeds = False

    def __init__(self, job: Job, seeds: list[int]) -> None:
        super().__init__(job, seeds)
        (self.seed,) = seeds
        self.settings: Settings = settings_from_dict(Settings, job.spec["settings"], job.label)
        self.method: Method = METHODS[self.settings.method]
        s, seed, device = self.settings, self.seed, job.device
        raw = load_raw(job, s.dataset)
        self.split = make_split(raw, s.dataset, seed=seed, val_fraction=s.val_fraction,
                                train_size=s.train_size, noise_rate=s.noise_rate,
                                test_subset=s.test_subset, device=device,
                                official_normalization=s.official_normalization,
                                noise_model=s.noise_model)
        self.nets = build_nets(s, self.split.num_classes, seed, device)
        if self.method.starts_from is not None:
            start = Path(job.inputs[INIT_ROLE]) / f"seed-{seed}" / BEST_MODEL_FILE
            if not start.exists():
                raise FileNotFoundError(f"{job.label}: {s.method} starts from {start}, which does not "
                                        f"exist (train the {self.method.starts_from} run first)")
            self.init_state = torch.load(start, map_location=device, weights_only=True)
            # FW/DMI: the classifier; LIMIT + init.: q (the official LIMIT copies it into q_network)
            target = self.nets.predictor if self.method.init_target == "predictor" else self.nets.classifier
            assert target is not None
            load_start_model(target, self.init_state, s.init_copy)
        self.optimizer = build_optimizer(s, self.nets.parameters())
        augment = None
        if s.augment:  # CIFAR: flip + crop, padding black as torchvision pads the PIL image
            augment = DeviceAugment.from_config(s.augment, crop_fill=self._info().normalized_black)
        self.batches = DeviceBatchLoader(self.split.train, s.batch_size, supervised.data_generator(seed),
                                         shuffle=True, augment=augment)
        self.noise = make_generator(seed, "gradient-noise")
        self.stopper = EarlyStopping(s.patience)
        self.rows: list[dict[str, Any]] = []
        self.best_model: dict[str, Any] = copy.deepcopy(self.nets.classifier.state_dict())
        self.best_predictor: dict[str, Any] | None = self._predictor_state()
        self.best_test = float("nan")
        self.total = s.epochs
        self.position = 0
        self.objective = self.method.objective(self)  # FW estimates its transition matrix here

    def _predictor_state(self) -> dict[str, Any] | None:
        q = self.nets.predictor
        if q is None or not self.method.name.startswith("limit"):
            return None
        return copy.deepcopy(q.state_dict())

    def _info(self) -> Any:
        s = self.settings
        return official_info(s.dataset) if s.official_normalization else get_dataset_info(s.dataset)

    def softmax_outputs(self, data: DeviceDataset) -> torch.Tensor:
        """The classifier's softmax outputs on `data` (evaluation mode)."""
        return softmax_outputs(self.nets.classifier, data, self.settings.eval_batch_size)

    def start_model_outputs(self, data: DeviceDataset) -> torch.Tensor:
        """Softmax outputs of the whole stored start model (parameters and batch-norm buffers), which
        the official code uses to estimate FW's transition matrix whatever it copies into the net."""
        model = copy.deepcopy(self.nets.classifier)
        model.load_state_dict(self.init_state)
        return softmax_outputs(model, data, self.settings.eval_batch_size)

    def finished(self) -> bool:
        return self.position >= self.total or (self.position > 0 and self.stopper.should_stop(self.position))

    def train_epoch(self) -> tuple[float, float]:
        """One pass over the training subset; mean objective and accuracy on the (noisy) training labels."""
        for module in self.nets.modules():
            module.train()
        total, correct, seen = 0.0, 0, 0
        for _, images, labels in self.batches:
            loss, logits = self.objective(images, labels)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(labels)
            correct += int((logits.detach().argmax(1) == labels).sum().item())
            seen += len(labels)
        return total / seen, correct / seen

    def advance(self) -> dict[str, float]:
        """Train one epoch, validate, and keep the classifier (and its test accuracy) when it is the best."""
        started = time.perf_counter()
        loss, train_acc = self.train_epoch()
        epoch = self.position + 1  # the engine counts the epoch once this returns
        clf, batch_size = self.nets.classifier, self.settings.eval_batch_size
        val_acc = accuracy(clf, self.split.val, batch_size)
        epoch_test = accuracy(clf, self.split.test, batch_size) if self.settings.test_every_epoch else None
        if self.stopper.update(epoch, val_acc):
            self.best_model = copy.deepcopy(clf.state_dict())
            self.best_predictor = self._predictor_state()
            self.best_test = epoch_test if epoch_test is not None else accuracy(clf, self.split.test,
                                                                                 batch_size)
        extra = {} if epoch_test is None else {"epoch_test_acc": epoch_test}
        self.rows.append({
            "seed": self.seed,
            "epoch": epoch,
            "loss": loss,
            "train_acc": train_acc,
            "val_acc": val_acc,
            "best_val_acc": self.stopper.best,
            "best_epoch": self.stopper.best_epoch,
            "test_acc": self.best_test,
            "n_train": len(self.split.train),
            "n_test": len(self.split.test),  # the bootstrap of Tables 6-7 resamples this many examples
            "train_flip_rate": self.split.train_flip_rate,
            "epoch_s": time.perf_counter() - started,  # wall time of training + evaluation (cost reports)
            **extra,
        })
        return {"val_acc": val_acc, "best": self.stopper.best}

    def state_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "nets": self.nets.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "batches": self.batches.generator.get_state() if self.batches.generator is not None else None,
            "noise": self.noise.get_state(),
            "stopper": self.stopper.state_dict(),
            "rows": self.rows,
            "best_model": self.best_model,
            "best_predictor": self.best_predictor,
            "best_test": self.best_test,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.position = int(state["position"])
        self.nets.load_state_dict(state["nets"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.batches.generator is not None:
            self.batches.generator.set_state(state["batches"])
        self.noise.set_state(state["noise"])
        self.stopper.load_state_dict(state["stopper"])
        self.rows, self.best_model = list(state["rows"]), state["best_model"]
        self.best_predictor = state.get("best_predictor", self.best_predictor)
        self.best_test = float(state["best_test"])

    def outputs(self) -> dict[int, SeedOutput]:
        files = {BEST_MODEL_FILE: self.best_model} if is_start_of_another(self.method) else {}
        if self.best_predictor is not None:
            files[BEST_NETS_FILE] = {"classifier": self.best_model, "predictor": self.best_predictor}
        return {self.seed: SeedOutput(self.rows, files, {"method_paper_name": self.method.paper_name})}


RUN = LimitRun
