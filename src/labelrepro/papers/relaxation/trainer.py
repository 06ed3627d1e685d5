"""Seed 004's MLP rows (A.2.1): every seed × loss × strength of one dataset and phase in one job.

Data (the authors' protocol): the official training and test sets are merged and, per seed, re-split
into a test part (`test_fraction`, 1/7 for MNIST / Fashion-MNIST) and a training part; the `select`
phase further holds out `val_fraction` of the training part for validation and scores on it, the
`final` phase trains on the whole training part and scores on the test part. Pixels are divided by 255
and the per-pixel mean of the phase's training images is subtracted (A.2.5).

All networks of a seed start from the same initialisation and see the same batches (paired across
losses); every loss is applied to its own networks (`BatchedMLP`'s run axis is seed-major: run
s·K + k is seed s, combination k of `RelaxSettings.combos()`). Each epoch ends with an evaluation of every
network (accuracy, ECE with `ece_bins` bins, NLL); the last epoch also records the reliability bins.
"""

from __future__ import annotations

from typing import Any

import torch

from labelrepro.core.config import settings_from_dict
from labelrepro.core.seeding import make_generator
from labelrepro.data.vision import get_dataset_info, load_vision_dataset
from labelrepro.engine.job import Job
from labelrepro.engine.loop import Run, SeedOutput, set_generator_states, split_by_seed
from labelrepro.engine.optim import build_optimizer, build_scheduler
from labelrepro.papers.relaxation import calibration
from labelrepro.papers.relaxation.batched_mlp import BatchedMLP
from labelrepro.papers.relaxation.methods import METHODS
from labelrepro.papers.relaxation.settings import RelaxSettings as Settings


def merged_pool(job: Job, settings: Settings) -> tuple[torch.Tensor, torch.Tensor]:
    """Official train + test as one pool of uint8 (N, C, H, W) images and labels (or a fixed subset)."""
    runtime = job.runtime
    parts = [load_vision_dataset(settings.dataset, runtime.data_dir, train, runtime.download,
                                 runtime.verify_data) for train in (True, False)]
    images = torch.cat([p[0] for p in parts])
    labels = torch.cat([p[1] for p in parts])
    if 0 < settings.pool_subset < len(labels):
        gen = make_generator(0, f"relax-pool-{settings.dataset}-{settings.pool_subset}")
        keep = torch.randperm(len(labels), generator=gen)[: settings.pool_subset].sort().values
        images, labels = images[keep], labels[keep]
    return images, labels


def split_indices(n: int, seed: int, settings: Settings) -> tuple[torch.Tensor, torch.Tensor]:
    """(training indices, evaluation indices) into the pool for this seed and phase."""
    order = torch.randperm(n, generator=make_generator(seed, "relax-test-split"))
    n_test = round(n * settings.test_fraction)
    test, train = order[:n_test], order[n_test:]
    if settings.phase == "final":
        return train, test
    inner = train[torch.randperm(len(train), generator=make_generator(seed, "relax-val-split"))]
    n_val = round(len(train) * settings.val_fraction)
    return inner[n_val:], inner[:n_val]


class MlpRun(Run):
    """One unit = one epoch of every network of the job, then their evaluation."""

    batch_seeds = True

    def __init__(self, job: Job, seeds: list[int]) -> None:
        super().__init__(job, seeds)
        settings: Settings = self.settings
        device = job.device
        info = get_dataset_info(settings.dataset)
        images, labels = merged_pool(job, settings)
        pool = images.flatten(1).to(device=device, dtype=torch.float32) / 255.0
        self.labels = labels.to(device)
        splits = [split_indices(len(labels), seed, settings) for seed in seeds]
        self.train_idx = torch.stack([s[0] for s in splits]).to(device)  # (S, n_train)
        self.eval_idx = torch.stack([s[1] for s in splits]).to(device)  # (S, n_eval)
        means = torch.stack([pool[s[0].to(device)].mean(0) for s in splits])  # (S, D) pixel means
        self.pool, self.means = pool, means
        self.combos = settings.combos()
        per_seed = len(self.combos)
        sizes = BatchedMLP.layer_sizes(pool.shape[1], settings.hidden, settings.depth, info.num_classes)
        generators = [make_generator(seed, "relax-mlp-init") for seed in seeds]
        self.model = BatchedMLP.initialise(generators, sizes, settings.init, replicate=per_seed).to(device)
        self.groups = {
            name: torch.tensor([s * per_seed + k for s in range(len(seeds))
                                for k, (m, _) in enumerate(self.combos) if m == name], device=device)
            for name in settings.methods
        }
        strength = torch.tensor([s for _, s in self.combos], dtype=torch.float32, device=device)
        self.strength = strength.repeat(len(seeds)).unsqueeze(1)  # (R, 1)
        self.optimizer = build_optimizer(settings, self.model.parameters())
        self.steps_per_epoch = -(-self.train_idx.shape[1] // settings.batch_size)
        self.scheduler = build_scheduler(settings, self.optimizer, self.steps_per_epoch)
        self.batch_generators = [make_generator(seed, f"relax-batches-{settings.phase}") for seed in seeds]
        self.total = settings.epochs
        self.rows: list[dict[str, Any]] = []

    def inputs(self, index: torch.Tensor) -> torch.Tensor:
        """Normalised images of pool indices (S, B) for every network: (R, B, D), seed-major."""
        x = self.pool[index] - self.means.unsqueeze(1)
        return x.repeat_interleave(len(self.combos), dim=0)

    def objective(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(R,) per-network mean loss over the batch, each network with its own loss and strength."""
        losses = torch.empty(logits.shape[0], device=logits.device, dtype=logits.dtype)
        for name, runs in self.groups.items():
            per_sample = METHODS[name].loss(logits[runs], labels[runs], self.strength[runs])
            losses[runs] = per_sample.mean(-1)
        return losses

    def advance(self) -> dict[str, float]:
        settings, device = self.settings, self.train_idx.device
        self.model.train()
        lr = self.optimizer.param_groups[0]["lr"]  # this epoch's (multistep: constant within it)
        order = torch.stack([torch.randperm(self.train_idx.shape[1], generator=g)
                             for g in self.batch_generators]).to(device)
        epoch_index = self.train_idx.gather(1, order)
        total = torch.zeros(self.model.runs, device=device)
        for step in range(self.steps_per_epoch):
            index = epoch_index[:, step * settings.batch_size:(step + 1) * settings.batch_size]
            labels = self.labels[index].repeat_interleave(len(self.combos), dim=0)
            losses = self.objective(self.model(self.inputs(index)), labels)
            self.optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()
            self.optimizer.step()
            self.scheduler.step()
            total += losses.detach() * index.shape[1]
        train_loss = (total / self.train_idx.shape[1]).cpu()
        epoch = self.position + 1
        values = self.evaluate(with_bins=epoch == self.total)
        self.append_rows(epoch, lr, train_loss, values)
        return {"acc": values["acc"].mean().item(), "ece": values["ece"].mean().item()}

    @torch.no_grad()
    def evaluate(self, with_bins: bool) -> dict[str, torch.Tensor]:
        """Accuracy, ECE and NLL of every network on its seed's evaluation part."""
        self.model.eval()
        n_bins, size = self.settings.ece_bins, self.settings.eval_batch_size
        stats = None
        nll = torch.zeros(self.model.runs, device=self.eval_idx.device, dtype=torch.float64)
        for start in range(0, self.eval_idx.shape[1], size):
            index = self.eval_idx[:, start:start + size]
            labels = self.labels[index].repeat_interleave(len(self.combos), dim=0)
            logits = self.model(self.inputs(index)).double()
            part = calibration.bin_statistics(logits.softmax(-1), labels, n_bins)
            stats = part if stats is None else {k: stats[k] + part[k] for k in stats}
            nll += torch.nn.functional.cross_entropy(
                logits.flatten(0, 1), labels.flatten(), reduction="none").view_as(labels).sum(-1)
        assert stats is not None
        count = stats["count"].sum(-1)
        values = {"acc": stats["correct"].sum(-1) / count, "nll": nll / count,
                  "ece": calibration.expected_calibration_error(stats)}
        if with_bins:
            values.update({f"rel_{k}": v for k, v in stats.items()})
        return {k: v.cpu() for k, v in values.items()}

    def append_rows(self, epoch: int, lr: float, train_loss: torch.Tensor,
                    values: dict[str, torch.Tensor]) -> None:
        split = "val" if self.settings.phase == "select" else "test"
        per_seed = len(self.combos)
        for s, seed in enumerate(self.seeds):
            for k, (method, strength) in enumerate(self.combos):
                r = s * per_seed + k
                row: dict[str, Any] = {
                    "seed": seed, "method": method, "strength": strength, "epoch": epoch,
                    "eval_split": split, "train_loss": float(train_loss[r]),
                    "acc": float(values["acc"][r]),
                    "ece": float(values["ece"][r]), "nll": float(values["nll"][r]),
                    "lr": lr,
                }
                if "rel_count" in values:
                    for stat in ("count", "conf", "correct"):
                        row.update({f"rel_{stat}_{b}": float(v)
                                    for b, v in enumerate(values[f"rel_{stat}"][r])})
                self.rows.append(row)

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generators": [g.get_state() for g in self.batch_generators],
            "rows": self.rows,
            "position": self.position,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        set_generator_states(self.batch_generators, state["generators"])
        self.rows = list(state["rows"])
        self.position = state["position"]

    def outputs(self) -> dict[int, SeedOutput]:
        extra = {"networks_batched": self.model.runs, "combos_per_seed": len(self.combos)}
        return split_by_seed(self.rows, self.seeds, extra)


class RelaxRun(Run):
    """The trainer's entry point: the batched MLP run for `model: mlp`, else the CIFAR run (cifar.py)."""

    batch_seeds = True

    def __new__(cls, job: Job, seeds: list[int]) -> Run:  # type: ignore[misc]
        settings = settings_from_dict(Settings, job.spec["settings"], job.label)
        if settings.model == "mlp":
            return MlpRun(job, seeds)
        from labelrepro.papers.relaxation.cifar import CifarRun

        return CifarRun(job, seeds)


RUN = RelaxRun
