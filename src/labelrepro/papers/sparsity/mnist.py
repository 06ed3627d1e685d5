"""Seed 003 §6.4 (Fig. 5) and Appendix F (Fig. 6): a 784 -> 600 -> 10 ReLU net on MNIST, SGD at batch
size 1, with and without per-step label noise, trained as R = seeds x label-noise levels batched runs.

Loss (Eq. 3): sum over the 10 outputs of log(1 + exp(-y_i N(x)_i)), y_i = +1 for the (possibly noisy)
label and -1 elsewhere, i.e. ten independent logistic losses, one per digit. The gradient is written
out by hand (dL/dN_i = -y_i sigmoid(-y_i N_i)); `tests/test_sparsity_mnist.py` checks it against
autograd. At every step each run draws an image (its own stream; uniformly with replacement, §3, or a
permutation per epoch) and replaces its label with probability p by a uniform digit. All runs of one
seed start from the same weights and see the same images (paired p = 0 vs p > 0).

Rows: one per run and epoch (`kind: epoch`, epoch 0 = initialisation): clean training error and
typical fraction of active hidden neurons (Definition 1) on `eval_train_subset` training images, test
error and active fraction on the whole test set. After the last epoch, one row per run and hidden
neuron (`kind: neuron`): how often it fired (pre-activation > 0) for each digit over the whole training
set (`count_0` .. `count_9`), its associated digit (Appendix F: fires at least twice as often for one
digit as for any other; -1 if none) and whether it is one of the `histogram_neurons` drawn for Fig. 6.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from labelrepro.core.seeding import derive_seed, make_generator
from labelrepro.data.noise import resample_labels_per_step
from labelrepro.data.vision import get_dataset_info, load_vision_dataset
from labelrepro.engine.job import Job
from labelrepro.engine.loop import Run, SeedOutput, set_generator_states, split_by_seed
from labelrepro.papers.sparsity.batched_mlp import BatchedTwoLayer
from labelrepro.papers.sparsity.settings import MnistSettings as Settings

CLASSES = 10


def init_bounds(init_scale: str, fan_in: int) -> tuple[float, float]:
    """(weight, bias) half-widths of the U[-a, a] initialisation of a layer with `fan_in` inputs."""
    if init_scale == "torch":
        return 1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in)
    if init_scale == "unit":
        return math.sqrt(3.0), math.sqrt(3.0)
    if init_scale == "fan_in":
        return math.sqrt(3.0 / fan_in), 0.0
    raise ValueError(f"init_scale must be 'torch', 'unit' or 'fan_in', got '{init_scale}'")


def signed_targets(labels: torch.Tensor) -> torch.Tensor:
    """Eq. 3's targets: +1 at the label's output, -1 at the other nine; (..., ) -> (..., 10)."""
    return torch.nn.functional.one_hot(labels, CLASSES).float() * 2 - 1


def multi_logistic_loss(out: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """sum_i log(1 + exp(-y_i N(x)_i)) over the last axis (Eq. 3)."""
    return torch.nn.functional.softplus(-targets * out).sum(-1)


class BatchedMlp10(BatchedTwoLayer):
    """R networks N_r(x) = W2_r ReLU(W1_r x + b1_r) + b2_r with 10 outputs."""

    @classmethod
    def initialise(cls, generators: list[torch.Generator], d: int, hidden: int, bias: bool, init_scale: str,
                   device: torch.device | str = "cpu") -> BatchedMlp10:
        (a1, c1), (a2, c2) = init_bounds(init_scale, d), init_bounds(init_scale, hidden)
        params: list[list[torch.Tensor]] = [[], [], [], []]
        for gen in generators:
            params[0].append((torch.rand(hidden, d, generator=gen) * 2 - 1) * a1)
            params[1].append((torch.rand(hidden, generator=gen) * 2 - 1) * c1)
            params[2].append((torch.rand(CLASSES, hidden, generator=gen) * 2 - 1) * a2)
            params[3].append((torch.rand(CLASSES, generator=gen) * 2 - 1) * c2)
        w1, b1, w2, b2 = (torch.stack(p).to(device) for p in params)
        if not bias:
            b1.zero_()
            b2.zero_()
        return cls(w1, b1, w2, b2, bias)

    def preactivations(self, x: torch.Tensor) -> torch.Tensor:
        """(R, B, d) -> (R, B, H)."""
        return torch.baddbmm(self.b1.unsqueeze(1), x, self.w1.transpose(1, 2))

    def outputs(self, z: torch.Tensor) -> torch.Tensor:
        """(R, B, H) pre-activations -> (R, B, 10) outputs."""
        return torch.baddbmm(self.b2.unsqueeze(1), torch.relu(z), self.w2.transpose(1, 2))

    @torch.no_grad()
    def sgd_step(self, x: torch.Tensor, targets: torch.Tensor, lr: float) -> None:
        """One SGD step per run on Eq. 3; x: (R, d), targets: (R, 10) in {-1, +1}."""
        z = torch.baddbmm(self.b1.unsqueeze(-1), self.w1, x.unsqueeze(-1)).squeeze(-1)  # (R, H)
        hidden = torch.relu(z)
        out = torch.baddbmm(self.b2.unsqueeze(-1), self.w2, hidden.unsqueeze(-1)).squeeze(-1)  # (R, 10)
        g = -targets * torch.sigmoid(-targets * out)  # dL/dN
        delta = torch.bmm(g.unsqueeze(1), self.w2).squeeze(1) * (z > 0)  # dL/dz, (R, H)
        self.w2.baddbmm_(g.unsqueeze(2), hidden.unsqueeze(1), alpha=-lr)
        self.w1.baddbmm_(delta.unsqueeze(2), x.unsqueeze(1), alpha=-lr)
        if self.bias:
            self.b2.add_(g, alpha=-lr)
            self.b1.add_(delta, alpha=-lr)


def digit_association(counts: torch.Tensor) -> torch.Tensor:
    """Appendix F: the digit a neuron fires for at least twice as often as for any other digit, else -1.

    counts: (..., 10) firing counts per digit -> (...,) associated digit or -1 (never-firing neurons: -1).
    """
    top2 = counts.topk(2, dim=-1)
    best, second = top2.values[..., 0], top2.values[..., 1]
    associated = (best > 0) & (best >= 2 * second)
    return torch.where(associated, top2.indices[..., 0], torch.full_like(top2.indices[..., 0], -1))


def scale_inputs(images: torch.Tensor, scaling: str) -> torch.Tensor:
    """uint8 images (N, 28, 28) -> float inputs (N, 784)."""
    x = images.flatten(1).float() / 255.0
    if scaling == "standardize":
        info = get_dataset_info("mnist")
        x = (x - info.mean[0]) / info.std[0]
    return x


class MnistRun(Run):
    """Every (seed, p) of the job trained together; one unit is one epoch."""

    unit = "epoch"
    batch_seeds = True

    def __init__(self, job: Job, seeds: list[int]) -> None:
        super().__init__(job, seeds)
        settings: Settings = self.settings
        device = job.device
        runtime = job.runtime
        splits = {}
        for split in ("train", "test"):
            images, labels = load_vision_dataset(settings.dataset, runtime.data_dir, split == "train",
                                                 runtime.download, runtime.verify_data)
            x = scale_inputs(images, settings.input_scaling).to(device)
            splits[split] = (x, labels.long().to(device))
        self.x_train, self.y_train = splits["train"]
        self.x_test, self.y_test = splits["test"]
        n = len(self.y_train)
        subset = settings.eval_train_subset
        if 0 < subset < n:
            pick = torch.Generator().manual_seed(derive_seed("mnist-eval-subset", subset))
            self.eval_index = torch.randperm(n, generator=pick)[:subset].sort().values.to(device)
        else:
            self.eval_index = torch.arange(n, device=device)
        self.runs = [(seed, p) for seed in seeds for p in settings.label_noises]
        self.seed_index = torch.arange(len(seeds)).repeat_interleave(len(settings.label_noises))
        net = BatchedMlp10.initialise([make_generator(s, "mnist-init") for s in seeds], self.x_train.shape[1],
                                      settings.hidden, settings.bias, settings.init_scale, device)
        index = self.seed_index.to(device)
        params = (t[index].clone() for t in (net.w1, net.b1, net.w2, net.b2))
        self.model = BatchedMlp10(*params, bias=settings.bias)
        #: per seed: which images it visits; per run: its label noise draws (same images for every p)
        self.image_generators = [make_generator(s, "mnist-sgd-images") for s in seeds]
        self.noise_generators = [make_generator(seed, f"mnist-sgd-noise-{p!r}") for seed, p in self.runs]
        self.total = settings.epochs
        self.rows: list[dict[str, Any]] = self.evaluate(0)

    def lr(self, epoch: int) -> float:
        """lr halved every `halve_every` epochs (0-based epoch being trained)."""
        return self.settings.lr * 0.5 ** (epoch // self.settings.halve_every)

    def draw_epoch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Image indices (n, R) and noisy labels (n, R) for one epoch of every run."""
        n = len(self.y_train)
        per_seed = []
        for gen in self.image_generators:
            if self.settings.sampling == "permutation":
                per_seed.append(torch.randperm(n, generator=gen))
            else:
                per_seed.append(torch.randint(0, n, (n,), generator=gen))
        index = torch.stack(per_seed, 1)[:, self.seed_index]  # (n, R)
        clean = self.y_train.cpu()[index]
        noisy = [resample_labels_per_step(clean[:, r], p, self.noise_generators[r], num_classes=CLASSES)
                 for r, (_, p) in enumerate(self.runs)]
        device = self.y_train.device
        return index.to(device), torch.stack(noisy, 1).to(device)

    @torch.no_grad()
    def measure(self, x: torch.Tensor, y: torch.Tensor, chunk: int = 2000) -> dict[str, torch.Tensor]:
        """Per run: clean error, mean Eq.-3 loss and typical active fraction on (x, y)."""
        errors = torch.zeros(len(self.runs), dtype=torch.float64, device=x.device)
        losses, active = errors.clone(), errors.clone()
        targets = signed_targets(y)
        for start in range(0, len(y), chunk):
            xs = x[start:start + chunk].unsqueeze(0).expand(len(self.runs), -1, -1)
            z = self.model.preactivations(xs)
            out = self.model.outputs(z)
            errors += (out.argmax(-1) != y[start:start + chunk]).sum(-1)
            losses += multi_logistic_loss(out, targets[start:start + chunk]).double().sum(-1)
            active += (z > 0).double().mean(-1).sum(-1)
        n = len(y)
        return {"error": errors / n, "loss": losses / n, "active_frac": active / n}

    def evaluate(self, epoch: int) -> list[dict[str, Any]]:
        train = self.measure(self.x_train[self.eval_index], self.y_train[self.eval_index])
        test = self.measure(self.x_test, self.y_test)
        hidden = self.settings.hidden
        rows = []
        for r, (seed, p) in enumerate(self.runs):
            rows.append({
                "kind": "epoch", "seed": seed, "label_noise": p, "epoch": epoch,
                "step": epoch * len(self.y_train), "lr": self.lr(max(epoch - 1, 0)),
                "train_error": train["error"][r].item(), "test_error": test["error"][r].item(),
                "train_loss": train["loss"][r].item(),
                "active_frac_train": train["active_frac"][r].item(),
                "active_frac_test": test["active_frac"][r].item(),
                "active_train": train["active_frac"][r].item() * hidden,
            })
        return rows

    def advance(self) -> dict[str, float]:
        epoch = self.position
        index, labels = self.draw_epoch()
        targets = signed_targets(labels)  # (n, R, 10)
        lr = self.lr(epoch)
        x_train, model = self.x_train, self.model
        for t in range(index.shape[0]):
            model.sgd_step(x_train[index[t]], targets[t], lr)
        rows = self.evaluate(epoch + 1)
        self.rows.extend(rows)
        return {"test_err": sum(r["test_error"] for r in rows) / len(rows),
                "active": sum(r["active_frac_train"] for r in rows) / len(rows)}

    @torch.no_grad()
    def neuron_rows(self) -> list[dict[str, Any]]:
        """Appendix F: per run and hidden neuron, firing counts per digit over the training set."""
        hidden = self.settings.hidden
        counts = torch.zeros(len(self.runs), hidden, CLASSES, dtype=torch.float64, device=self.x_train.device)
        onehot = torch.nn.functional.one_hot(self.y_train, CLASSES).double()
        for start in range(0, len(self.y_train), 2000):
            xs = self.x_train[start:start + 2000].unsqueeze(0).expand(len(self.runs), -1, -1)
            fired = (self.model.preactivations(xs) > 0).double()  # (R, B, H)
            counts += torch.einsum("rbh,bc->rhc", fired, onehot[start:start + 2000])
        digits = digit_association(counts).cpu()
        counts = counts.cpu()
        rows = []
        for r, (seed, p) in enumerate(self.runs):
            pick = torch.Generator().manual_seed(derive_seed(seed, "fig6-neurons"))
            sample = set(torch.randperm(hidden, generator=pick)[: self.settings.histogram_neurons].tolist())
            for i in range(hidden):
                rows.append({"kind": "neuron", "seed": seed, "label_noise": p, "epoch": self.settings.epochs,
                             "neuron": i, "digit": int(digits[r, i]), "in_sample": i in sample,
                             **{f"count_{c}": float(counts[r, i, c]) for c in range(CLASSES)}})
        return rows

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state(),
            "image_generators": [g.get_state() for g in self.image_generators],
            "noise_generators": [g.get_state() for g in self.noise_generators],
            "rows": self.rows,
            "position": self.position,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state(state["model"])
        streams = ((self.image_generators, "image_generators"), (self.noise_generators, "noise_generators"))
        for gens, key in streams:
            set_generator_states(gens, state[key])
        self.rows = list(state["rows"])
        self.position = state["position"]

    def outputs(self) -> dict[int, SeedOutput]:
        rows = self.rows + self.neuron_rows()
        extra = {"runs_batched": len(self.runs)}
        return split_by_seed(rows, self.seeds, extra)


RUN = MnistRun
