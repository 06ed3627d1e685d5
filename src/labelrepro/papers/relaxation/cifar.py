"""Seed 004's CIFAR rows (A.2.2-A.2.5): ResNet-56 v2, VGG16 with BN and dropout, DenseNet-BC-100.

Same protocol as the MLP rows (`trainer.py`: merged official train + test re-split per seed, test 1/6
for CIFAR; `select` / `final` phases; /255 minus the per-pixel training mean), but the networks of a job
(seeds × (method, strength)) are trained one after the other within each epoch: a CIFAR network fills a
GPU, and at paper scale a job holds one (method, strength) and the 5 seeds. Augmentation (A.2.5, Keras'
`ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True,
fill_mode='nearest')`): a horizontal flip with probability 1/2 and integer shifts uniform in
[−round(0.1·32), +round(0.1·32)] = [−3, 3] pixels per axis, the border pixels repeated, drawn on the device
from the network's own generator. On CUDA the forward pass runs under bf16 autocast with channels_last.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from labelrepro.core.seeding import make_generator
from labelrepro.data.vision import get_dataset_info
from labelrepro.engine import image
from labelrepro.engine.job import Job
from labelrepro.engine.loop import Run, SeedOutput, set_generator_states, split_by_seed
from labelrepro.engine.optim import build_optimizer, build_scheduler
from labelrepro.papers.relaxation import calibration
from labelrepro.papers.relaxation.methods import METHODS
from labelrepro.papers.relaxation.settings import RelaxSettings as Settings
from labelrepro.papers.relaxation.trainer import merged_pool, split_indices


def build_model(name: str, num_classes: int, generator: torch.Generator) -> torch.nn.Module:
    if name == "resnet56_v2":
        from labelrepro.models.preact_resnet import resnet56_v2

        return resnet56_v2(num_classes, generator)
    if name == "vgg16_bn_dropout":
        from labelrepro.models.vgg import vgg16_bn_dropout

        return vgg16_bn_dropout(num_classes, generator)
    if name == "densenet_bc100":
        from labelrepro.models.densenet import densenet_bc100

        return densenet_bc100(num_classes, generator)
    raise ValueError(f"unknown CIFAR model {name!r}; use resnet56_v2, vgg16_bn_dropout or densenet_bc100")


def shift_flip(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Per image: flip horizontally with probability 1/2, shift by integers in [−max_shift, max_shift]
    along each axis, filling with the nearest border pixel (one gather from a replicate-padded copy)."""
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=generator) < 0.5
    dy = torch.randint(-max_shift, max_shift + 1, (n,), generator=generator)
    dx = torch.randint(-max_shift, max_shift + 1, (n,), generator=generator)
    flip, dy, dx = flip.to(x.device), dy.to(x.device), dx.to(x.device)
    x = torch.where(flip.view(n, 1, 1, 1), x.flip(-1), x)
    if max_shift == 0:
        return x
    padded = F.pad(x, (max_shift,) * 4, mode="replicate")
    rows = (torch.arange(h, device=x.device).view(1, h) + max_shift - dy.view(n, 1))  # (n, h)
    cols = (torch.arange(w, device=x.device).view(1, w) + max_shift - dx.view(n, 1))  # (n, w)
    index = torch.arange(n, device=x.device).view(n, 1, 1)
    out = padded.permute(0, 2, 3, 1)[index, rows.view(n, h, 1), cols.view(n, 1, w)]  # (n, h, w, c)
    return out.permute(0, 3, 1, 2).contiguous()


class CifarRun(Run):
    """One unit = one epoch of every network of the job (one after the other), then their evaluation."""

    batch_seeds = True

    def __init__(self, job: Job, seeds: list[int]) -> None:
        super().__init__(job, seeds)
        settings: Settings = self.settings
        device = job.device
        info = get_dataset_info(settings.dataset)
        images, labels = merged_pool(job, settings)
        self.pool = images.to(device=device, dtype=torch.float32) / 255.0
        self.labels = labels.to(device)
        splits = [split_indices(len(labels), seed, settings) for seed in seeds]
        self.train_idx = [s[0].to(device) for s in splits]
        self.eval_idx = [s[1].to(device) for s in splits]
        self.means = [self.pool[i].mean(0) for i in self.train_idx]  # per-pixel, per-channel means
        self.combos = settings.combos()
        self.max_shift = round(settings.shift * images.shape[-1]) if settings.augment else 0
        self.nets, self.optimizers, self.schedulers, self.generators, self.who = [], [], [], [], []
        for s, seed in enumerate(seeds):
            for method, strength in self.combos:
                net = build_model(settings.model, info.num_classes, make_generator(seed, "relax-cifar-init"))
                net = image.prepare_model(net, device, settings.channels_last)
                optimizer = build_optimizer(settings, net.parameters())
                steps = -(-len(self.train_idx[s]) // settings.batch_size)
                self.nets.append(net)
                self.optimizers.append(optimizer)
                self.schedulers.append(build_scheduler(settings, optimizer, steps))
                self.generators.append(make_generator(seed, f"relax-batches-{settings.phase}"))
                self.who.append((s, seed, method, strength))
        self.total = settings.epochs
        self.rows: list[dict[str, Any]] = []

    def inputs(self, s: int, index: torch.Tensor) -> torch.Tensor:
        return image.to_input(self.pool[index] - self.means[s], self.settings.channels_last)

    def advance(self) -> dict[str, float]:
        settings = self.settings
        epoch = self.position + 1
        accs, eces = [], []
        for k, (s, seed, method, strength) in enumerate(self.who):
            net, optimizer = self.nets[k], self.optimizers[k]
            scheduler, gen = self.schedulers[k], self.generators[k]
            lr = optimizer.param_groups[0]["lr"]
            net.train()
            perm = torch.randperm(len(self.train_idx[s]), generator=gen).to(self.pool.device)
            order = self.train_idx[s][perm]
            total = torch.zeros((), device=self.pool.device)
            for start in range(0, len(order), settings.batch_size):
                index = order[start:start + settings.batch_size]
                x = self.pool[index] - self.means[s]
                if settings.augment:
                    x = shift_flip(x, self.max_shift, gen)
                x = image.to_input(x, settings.channels_last)
                with image.autocast(x.device, settings.amp):
                    logits = net(x)
                loss = METHODS[method].loss(logits.float(), self.labels[index], strength).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += loss.detach() * len(index)
            values = self.evaluate(k, s, with_bins=epoch == self.total)
            row: dict[str, Any] = {
                "seed": seed, "method": method, "strength": strength, "epoch": epoch,
                "eval_split": "val" if settings.phase == "select" else "test",
                "train_loss": float(total) / len(order), "lr": lr, **values,
            }
            self.rows.append(row)
            accs.append(values["acc"])
            eces.append(values["ece"])
        return {"acc": sum(accs) / len(accs), "ece": sum(eces) / len(eces)}

    @torch.no_grad()
    def evaluate(self, k: int, s: int, with_bins: bool) -> dict[str, float]:
        net, settings = self.nets[k], self.settings
        net.eval()
        stats, nll = None, 0.0
        for start in range(0, len(self.eval_idx[s]), settings.eval_batch_size):
            index = self.eval_idx[s][start:start + settings.eval_batch_size]
            with image.autocast(self.pool.device, settings.amp):
                logits = net(self.inputs(s, index))
            logits = logits.double()
            part = calibration.bin_statistics(logits.softmax(-1), self.labels[index], settings.ece_bins)
            stats = part if stats is None else {key: stats[key] + part[key] for key in stats}
            nll += F.cross_entropy(logits, self.labels[index], reduction="sum").item()
        assert stats is not None
        count = stats["count"].sum().item()
        values = {"acc": stats["correct"].sum().item() / count, "nll": nll / count,
                  "ece": calibration.expected_calibration_error(stats).item()}
        if with_bins:
            for stat, tensor in stats.items():
                values.update({f"rel_{stat}_{b}": float(v) for b, v in enumerate(tensor.cpu())})
        return values

    def state_dict(self) -> dict[str, Any]:
        return {
            "nets": [n.state_dict() for n in self.nets],
            "optimizers": [o.state_dict() for o in self.optimizers],
            "schedulers": [s.state_dict() for s in self.schedulers],
            "generators": [g.get_state() for g in self.generators],
            "rows": self.rows,
            "position": self.position,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pairs = ((self.nets, "nets"), (self.optimizers, "optimizers"), (self.schedulers, "schedulers"))
        for items, key in pairs:
            for item, item_state in zip(items, state[key], strict=True):
                item.load_state_dict(item_state)
        set_generator_states(self.generators, state["generators"])
        self.rows = list(state["rows"])
        self.position = state["position"]

    def outputs(self) -> dict[int, SeedOutput]:
        extra = {"networks_in_job": len(self.nets), "combos_per_seed": len(self.combos)}
        return split_by_seed(self.rows, self.seeds, extra)
