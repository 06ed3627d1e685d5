"""Seed 001 (Harutyunyan et al., ICML 2020): LIMIT and its baselines on MNIST (supplement Tables 4, 5).

One job trains one configuration (method, hyperparameters, noise rate p, training-set size n) on every
split of `job.seeds` (the paper's 5 train/validation splits, seeds 42-46), one split after the other,
with MNIST held on the device. Per split: Adam (lr 1e-3, batch 256), up to `epochs` epochs, early stop
after `patience` epochs without a new best validation accuracy; the run reports the test accuracy of
the best-validation checkpoint. An epoch is one pass over the n training examples (so n = 10^3 means 4
optimiser steps per epoch at batch 256), followed by one pass over the validation set.

Methods (names as in `labelrepro.losses.limit.LIMIT_METHODS`): ce, ce_gn, ce_ln, mae, fw, dmi, soft_reg,
limit_g, limit_g_s, limit_l, limit_l_s. LIMIT trains a gradient predictor q (the Table 3 net with batch
norm on its FC layer) beside the classifier; one backward pass of `surrogate + q-loss` applies the
predicted gradient to the classifier's logits and q's Gaussian/Laplace loss to q (their gradients touch
disjoint parameters). FW and DMI start from the CE best-validation model of the same split
(`limit_init`), which CE jobs save as `seed-<k>/best_model.pt`.

metrics.csv has one row per epoch: training loss and accuracy on the noisy labels (train mode, during
the pass), validation accuracy, the best validation accuracy so far and its epoch, `test_acc` (the test
accuracy of that best-so-far checkpoint, evaluated when it changes) and `epoch_s`, the epoch's wall time.
The last row is the result.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import pandas as pd
import torch
import torch.nn.functional as F

from labelrepro.config import settings_from_dict
from labelrepro.core.seeding import make_generator
from labelrepro.data.vision import DeviceBatchLoader, DeviceDataset
from labelrepro.losses import limit as L
from labelrepro.models.mnist_convnet import MnistConvNet
from labelrepro.trainers import supervised
from labelrepro.trainers.early_stopping import EarlyStopping
from labelrepro.trainers.job import Job
from labelrepro.trainers.limit_data import LimitSplit, RawData, load_raw, make_split
from labelrepro.trainers.limit_init import BEST_MODEL_FILE, INIT_FROM_CE, find_ce_run

Method = Literal[
    "ce", "ce_gn", "ce_ln", "mae", "fw", "dmi", "soft_reg", "limit_g", "limit_g_s", "limit_l", "limit_l_s"
]
assert set(get_args(Method)) == set(L.LIMIT_METHODS), "Method must list labelrepro.losses.limit.LIMIT_METHODS"
#: The hyperparameters each method reads; any other one set to a non-default value is a config error.
_USES: dict[str, frozenset[str]] = {
    "ce": frozenset(),
    "ce_gn": frozenset({"sigma"}),
    "ce_ln": frozenset({"sigma"}),
    "mae": frozenset(),
    "fw": frozenset({"fw_quantile"}),
    "dmi": frozenset(),
    "soft_reg": frozenset({"lam", "beta"}),
    "limit_g": frozenset({"beta"}),
    "limit_g_s": frozenset({"beta", "sigma"}),
    "limit_l": frozenset({"beta"}),
    "limit_l_s": frozenset({"beta", "sigma"}),
}
_HP_DEFAULTS: dict[str, float] = {"sigma": 0.0, "lam": 0.0, "beta": 0.0, "fw_quantile": 0.97}


@dataclass(frozen=True, kw_only=True)
class Settings(supervised.OptimSettings):
    """One LIMIT-table configuration (paper values in workflow/experiments/limit_table4.yaml)."""

    method: Method
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
        uses = _USES[self.method]
        for name, default in _HP_DEFAULTS.items():
            if name not in uses and getattr(self, name) != default:
                raise ValueError(f"method {self.method} does not use '{name}' (set it only for "
                                 f"{', '.join(m for m, u in _USES.items() if name in u)})")
        if "sigma" in uses and self.sigma <= 0:
            raise ValueError(f"method {self.method} needs sigma > 0")
        if self.method == "soft_reg" and self.lam <= 0:
            raise ValueError("soft_reg needs lam > 0")
        if self.beta < 0 or self.sigma < 0:
            raise ValueError("beta and sigma must be >= 0")


@dataclass
class Nets:
    """The classifier and, for LIMIT and soft reg., the gradient predictor q."""

    classifier: MnistConvNet
    predictor: MnistConvNet | None

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
    """Table 3 classifier (bias-free last layer for Eq. 11, as the official code) and q when needed."""
    spec = L.method_spec(settings.method)
    torch.manual_seed(make_generator(seed, "init").initial_seed())  # nn.Module init reads the global RNG
    classifier = MnistConvNet(num_classes, last_layer_bias=not spec["needs_features"]).to(device)
    predictor = None
    if spec["loss"] in ("limit", "soft_reg"):
        predictor = MnistConvNet(num_classes, bn_on_fc=True).to(device)
    return Nets(classifier, predictor)


LossFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def make_loss(settings: Settings, nets: Nets, T: torch.Tensor | None, noise: torch.Generator) -> LossFn:
    """(images, noisy labels) -> (objective to back-propagate, classifier logits) for the method."""
    spec = L.method_spec(settings.method)
    clf, q = nets.classifier, nets.predictor
    loss = spec["loss"]
    if loss == "limit":
        assert q is not None
        kind = spec["predictor"]

        def limit_step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            a = clf(x)
            mu = L.predicted_gradient(a, q(x))
            g = L.sample_predicted_gradient(mu, settings.sigma, kind, noise) if spec["sample"] else mu
            q_loss = L.limit_predictor_loss(mu, L.ce_logit_gradient(a, y), settings.beta, kind)
            return L.limit_classifier_surrogate(a, g) + q_loss, a

        return limit_step
    if loss == "soft_reg":
        assert q is not None

        def soft_step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            a, z = clf.forward_features(x)
            return L.soft_regularization_loss(a, z, q(x), y, settings.lam, settings.beta), a

        return soft_step

    def plain_step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = clf(x)
        if loss == "mae":
            return L.mae_loss(a, y), a
        if loss == "fw":
            assert T is not None
            return L.forward_corrected_ce(a, y, T), a
        if loss == "dmi":
            return L.dmi_loss(a, y, a.shape[1], eps=settings.dmi_eps), a
        logits = a if spec["grad_noise"] is None else L.with_logit_gradient_noise(
            a, settings.sigma, spec["grad_noise"], noise)
        return F.cross_entropy(logits, y), a

    return plain_step


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


@dataclass
class SeedState:
    """Everything one split's training needs to resume: nets, optimiser, RNG streams, history, best."""

    nets: Nets
    optimizer: torch.optim.Optimizer
    batches: DeviceBatchLoader
    noise: torch.Generator
    stopper: EarlyStopping
    rows: list[dict[str, Any]]
    best_model: dict[str, Any]
    best_test: float
    epoch: int = 0

    def state_dict(self) -> dict[str, Any]:
        return {
            "nets": self.nets.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "batches": self.batches.generator.get_state() if self.batches.generator is not None else None,
            "noise": self.noise.get_state(),
            "stopper": self.stopper.state_dict(),
            "rows": self.rows,
            "best_model": self.best_model,
            "best_test": self.best_test,
            "epoch": self.epoch,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.nets.load_state_dict(state["nets"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.batches.generator is not None:
            self.batches.generator.set_state(state["batches"])
        self.noise.set_state(state["noise"])
        self.stopper.load_state_dict(state["stopper"])
        self.rows, self.best_model = state["rows"], state["best_model"]
        self.best_test, self.epoch = float(state["best_test"]), int(state["epoch"])


def start_seed(job: Job, settings: Settings, split: LimitSplit, seed: int) -> tuple[SeedState, LossFn]:
    """Fresh state of one split; FW/DMI load the CE best model of the same split (and FW estimates T)."""
    device = job.device
    nets = build_nets(settings, split.num_classes, seed, device)
    T = None
    if settings.method in INIT_FROM_CE:
        ce_run = find_ce_run(job.out_dir.parent, job.spec["settings"], seed)
        state = torch.load(ce_run / BEST_MODEL_FILE, map_location=device, weights_only=True)
        nets.classifier.load_state_dict(state)
        if settings.method == "fw":
            probs = softmax_outputs(nets.classifier, split.train, settings.eval_batch_size)
            T = L.estimate_transition_matrix(probs.cpu(), quantile=settings.fw_quantile).to(device)
    optimizer = supervised.build_optimizer(settings, nets.parameters())
    batches = DeviceBatchLoader(split.train, settings.batch_size, supervised.data_generator(seed),
                                shuffle=True)
    noise = make_generator(seed, "gradient-noise")
    state = SeedState(nets, optimizer, batches, noise, EarlyStopping(settings.patience), [],
                      copy.deepcopy(nets.classifier.state_dict()), float("nan"))
    return state, make_loss(settings, nets, T, noise)


def run_epoch(state: SeedState, loss_fn: LossFn) -> tuple[float, float]:
    """One pass over the training subset; mean objective and accuracy on the (noisy) training labels."""
    for module in state.nets.modules():
        module.train()
    total, correct, seen = 0.0, 0, 0
    for _, images, labels in state.batches:
        loss, logits = loss_fn(images, labels)
        state.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        state.optimizer.step()
        total += loss.item() * len(labels)
        correct += int((logits.detach().argmax(1) == labels).sum().item())
        seen += len(labels)
    return total / seen, correct / seen


def train_seed(
    job: Job, settings: Settings, split: LimitSplit, seed: int, state: SeedState, loss_fn: LossFn,
    save: Callable[[], None], on_epoch: Callable[[dict[str, Any]], None],
) -> None:
    """Train until `epochs` or early stopping; the best-validation classifier is kept in `state`."""
    clf = state.nets.classifier
    while state.epoch < settings.epochs and not (state.epoch and state.stopper.should_stop(state.epoch)):
        started = time.perf_counter()
        loss, train_acc = run_epoch(state, loss_fn)
        state.epoch += 1
        val_acc = accuracy(clf, split.val, settings.eval_batch_size)
        if state.stopper.update(state.epoch, val_acc):
            state.best_model = copy.deepcopy(clf.state_dict())
            state.best_test = accuracy(clf, split.test, settings.eval_batch_size)
        row = {
            "seed": seed,
            "epoch": state.epoch,
            "loss": loss,
            "train_acc": train_acc,
            "val_acc": val_acc,
            "best_val_acc": state.stopper.best,
            "best_epoch": state.stopper.best_epoch,
            "test_acc": state.best_test,
            "n_train": len(split.train),
            "train_flip_rate": split.train_flip_rate,
            "epoch_s": time.perf_counter() - started,  # wall time of training + evaluation (cost reports)
        }
        state.rows.append(row)
        on_epoch(row)
        save()


def train(job: Job) -> None:
    """Train every split in `job.seeds` with one configuration and write one run folder per split."""
    settings = settings_from_dict(Settings, job.spec["settings"], job.label)
    raw: RawData = load_raw(job, settings.dataset)
    checkpointer = job.checkpointer()
    saved = checkpointer.load() or {}
    done: dict[int, dict[str, Any]] = saved.get("done", {})
    progress = job.progress(total=settings.epochs * len(job.seeds), unit="epoch")
    if saved:
        progress.message(f"resumed from checkpoint ({checkpointer.path}); splits done: {sorted(done)}")
    for seed in job.seeds:
        if seed in done:
            progress.update(settings.epochs)
            continue
        split = make_split(raw, settings.dataset, seed=seed, val_fraction=settings.val_fraction,
                           train_size=settings.train_size, noise_rate=settings.noise_rate,
                           test_subset=settings.test_subset, device=job.device,
                           official_normalization=settings.official_normalization)
        state, loss_fn = start_seed(job, settings, split, seed)
        current = saved.get("current")
        if current is not None and current["seed"] == seed:
            state.load_state_dict(current["state"])
            progress.update(state.epoch)

        def save(force: bool = False, seed: int = seed, state: SeedState = state) -> None:
            if force or checkpointer.due():
                checkpointer.save({"done": done, "current": {"seed": seed, "state": state.state_dict()}})

        def on_epoch(row: dict[str, Any]) -> None:
            progress.update(1, val_acc=row["val_acc"], best=row["best_val_acc"])

        train_seed(job, settings, split, seed, state, loss_fn, save, on_epoch)
        progress.update(settings.epochs - state.epoch)  # epochs skipped by early stopping
        done[seed] = {"rows": state.rows, "best_model": state.best_model}
        save(force=True)
    progress.close()
    # FW and DMI cells of the same column start from CE's best models (limit_init).
    files = {seed: {BEST_MODEL_FILE: done[seed]["best_model"]} for seed in job.seeds} if (
        settings.method == "ce") else None
    job.write_runs(
        {seed: pd.DataFrame(done[seed]["rows"]) for seed in job.seeds},
        extra={"method_paper_name": L.method_spec(settings.method)["paper"]},
        files=files,
    )
    checkpointer.clear()
