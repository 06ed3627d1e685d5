"""Clothing1M batches for the ALASCA trainer (seed 002, Table 2), as the authors' code draws them.

`jongwooko/ALASCA` (`dataset/clothing1M.py`, `train_clothing1M.py`; read, docs/decisions.md):

* each epoch draws a fresh class-balanced sample of the noisy training set: the keys in a random order,
  a key kept while its (noisy) class has fewer than `samples/14` kept and fewer than `samples` are kept in
  all (2000 × 64 = 128k images; 3000 × 64 for Co-teaching), then shuffled and cut into batches of 128;
* training transform Resize(256) (shorter side) → RandomCrop(224) → horizontal flip → normalise with
  Clothing1M's own mean (0.6959, 0.6537, 0.6371) and std (0.3113, 0.3192, 0.3214) (not ImageNet's);
  test transform Resize(256) → CenterCrop(224) → the same normalisation; test on `clean_test_key_list.txt`.

`image_size` scales the 224 (and the 256 with it: resize = round(image_size · 256/224)), so smoke scale
runs the same path on 32-pixel crops. The crop offsets and flips are drawn per (epoch, sample) from the
run's seed, not from a global RNG, so results do not depend on the number of loader processes and a
resumed run sees the same batches. The JPEGs are decoded by a `torch.utils.data.DataLoader` (worker
processes on CUDA; in the main process on CPU), normalised on the device.

The noisy training set has no clean labels for most images, so `clean_labels` repeats the noisy ones
(the trainer's clean/noisy confidence split and selection F1 are then meaningless and not reported).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any, TypeVar

import numpy as np
import torch

from labelrepro.core.config import settings_from_dict
from labelrepro.core.seeding import derive_seed, make_generator
from labelrepro.engine import image as supervised
from labelrepro.engine.job import Job
from labelrepro.engine.optim import build_optimizer, build_scheduler
from labelrepro.papers.alasca.clothing1m import NUM_CLASSES, Clothing1MSplit, clothing1m_root, load_split

T = TypeVar("T")

MEAN = (0.6959, 0.6537, 0.6371)  # the authors' transforms (Clothing1M's statistics)
STD = (0.3113, 0.3192, 0.3214)
PAPER_CROP, PAPER_RESIZE = 224, 256


def resize_for(image_size: int) -> int:
    """The shorter-side resize before cropping `image_size` pixels (256 for the paper's 224)."""
    return round(image_size * PAPER_RESIZE / PAPER_CROP)


def _decode(path: str, image_size: int, offset: tuple[float, float, bool] | None) -> torch.Tensor:
    """One image as uint8 (3, s, s): resize the shorter side, then a crop at the relative `offset`
    (u, v in [0, 1), flip) or the centre crop (`offset` None)."""
    from PIL import Image

    resize = resize_for(image_size)
    with Image.open(path) as raw:
        image = raw.convert("RGB")
    w, h = image.size
    scale = resize / min(w, h)
    new_w, new_h = max(resize, round(w * scale)), max(resize, round(h * scale))
    image = image.resize((new_w, new_h), Image.BILINEAR)
    if offset is None:
        left, top = (new_w - image_size) // 2, (new_h - image_size) // 2
        flip = False
    else:
        u, v, flip = offset
        left, top = int(u * (new_w - image_size + 1)), int(v * (new_h - image_size + 1))
    image = image.crop((left, top, left + image_size, top + image_size))
    if flip:
        image = image.transpose(Image.FLIP_LEFT_RIGHT)
    array = np.asarray(image, dtype=np.uint8).copy()
    return torch.from_numpy(array).permute(2, 0, 1)


class _Files(torch.utils.data.Dataset):
    """(position, uint8 image, label) of a split; `augment_key` set: random crop + flip from the key."""

    def __init__(self, paths: list[str], labels: torch.Tensor, image_size: int,
                 augment_key: int | None) -> None:
        self.paths, self.labels, self.image_size, self.augment_key = paths, labels, image_size, augment_key

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, position: int) -> tuple[int, torch.Tensor, int]:
        offset = None
        if self.augment_key is not None:
            rng = np.random.default_rng([self.augment_key, position])
            u, v, f = rng.random(3)
            offset = (float(u), float(v), bool(f < 0.5))
        return position, _decode(self.paths[position], self.image_size, offset), int(self.labels[position])


def _workers(device: torch.device) -> int:
    if device.type != "cuda":
        return 0
    return min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _normalise(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    x = images.to(device, non_blocking=True).float().div_(255.0)
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
    return (x - mean) / std


class ImageFiles:
    """One split's files and labels with what the trainer reads of a `DeviceDataset` (`labels`, `device`,
    `len`) and sequential evaluation batches (`eval_batches`)."""

    def __init__(self, paths: list[str], labels: torch.Tensor, image_size: int, device: torch.device):
        self.paths, self.image_size, self.device = paths, image_size, device
        self.labels = labels.to(device)
        self.cpu_labels = labels

    def __len__(self) -> int:
        return len(self.paths)

    def loader(self, batches: list[list[int]], augment_key: int | None) -> torch.utils.data.DataLoader:
        workers = _workers(self.device)
        return torch.utils.data.DataLoader(
            _Files(self.paths, self.cpu_labels, self.image_size, augment_key), batch_sampler=batches,
            num_workers=workers, pin_memory=self.device.type == "cuda", persistent_workers=False,
            prefetch_factor=4 if workers else None)

    def eval_batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        order = list(range(len(self)))
        chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        for index, images, labels in self.loader(chunks, None):
            yield (index.to(self.device), _normalise(images, self.device), labels.to(self.device))


def balanced_sample(labels: torch.Tensor, samples: int, generator: torch.Generator) -> torch.Tensor:
    """The official per-epoch draw: positions in a random order, kept while their class has fewer than
    samples/14 kept and fewer than `samples` are kept; returned in a fresh random order."""
    perm = torch.randperm(len(labels), generator=generator)
    ordered = labels[perm]
    by_class = torch.sort(ordered, stable=True)
    starts = torch.searchsorted(by_class.values, torch.arange(NUM_CLASSES))
    rank = torch.empty_like(ordered)
    rank[by_class.indices] = torch.arange(len(ordered)) - starts[by_class.values]
    kept = perm[rank < samples / NUM_CLASSES][:samples]
    return kept[torch.randperm(len(kept), generator=generator)]


def epoch_sample_size(labels: torch.Tensor, samples: int) -> int:
    """How many images `balanced_sample` returns (the same every epoch: it depends on the class counts)."""
    cap = math.ceil(samples / NUM_CLASSES)
    counts = torch.bincount(labels, minlength=NUM_CLASSES).clamp(max=cap)
    return int(min(samples, int(counts.sum())))


class TrainBatches:
    """Each epoch's class-balanced sample in shuffled batches of (position, image, noisy label) on the
    device; `generator` (checkpointed by the stage) draws the sample and the augmentation key."""

    def __init__(self, data: ImageFiles, batch_size: int, samples: int, seed: int) -> None:
        self.data, self.batch_size, self.samples = data, batch_size, samples
        self.generator = make_generator(seed, "batches")
        self.epoch_size = epoch_sample_size(data.cpu_labels, samples)

    def __len__(self) -> int:
        return math.ceil(self.epoch_size / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        chosen = balanced_sample(self.data.cpu_labels, self.samples, self.generator).tolist()
        key = int(torch.randint(0, 2**62, (1,), generator=self.generator))
        chunks = [chosen[i:i + self.batch_size] for i in range(0, len(chosen), self.batch_size)]
        device = self.data.device
        for index, images, labels in self.data.loader(chunks, key):
            yield index.to(device), _normalise(images, device), labels.to(device)


class Stage(supervised.Stage):
    """`supervised.Stage` on Clothing1M's per-epoch samples: the network, SGD and its per-step schedule
    (steps per epoch = the sample's batches)."""

    def __init__(self, net: torch.nn.Module, settings: Any, splits: supervised.Splits, seed: int,
                 epochs: int | None = None) -> None:
        import dataclasses

        stage_settings = settings if epochs is None else dataclasses.replace(settings, epochs=epochs)
        self.net = net
        self.optimizer = build_optimizer(stage_settings, net.parameters())
        train: Any = splits.train
        self.batches = TrainBatches(train, settings.batch_size, settings.clothing_epoch_samples, seed)
        self.scheduler = build_scheduler(stage_settings, self.optimizer, len(self.batches))


def _subset(split: Clothing1MSplit, n: int, what: str) -> tuple[list[str], torch.Tensor]:
    paths, labels = [str(p) for p in split.paths], torch.tensor(split.labels, dtype=torch.int64)
    if 0 < n < len(paths):  # a fixed subset, the same for every seed and method
        generator = torch.Generator().manual_seed(derive_seed("subset", what, n))
        index = torch.randperm(len(paths), generator=generator)[:n].sort().values
        paths, labels = [paths[i] for i in index.tolist()], labels[index]
    return paths, labels


def load(job: Job, settings: Any) -> supervised.Splits:
    """The run's Clothing1M splits from `<data_dir>/clothing1m/` (one clear error when it is absent)."""
    root = clothing1m_root(job.runtime.data_dir)
    parts = {}
    for split, n in (("train", settings.train_subset), ("test", settings.test_subset)):
        paths, labels = _subset(load_split(root, split), n, f"clothing1m-{split}")
        if labels.numel() and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise ValueError(f"Clothing1M labels must lie in 0..{NUM_CLASSES - 1} ({root}, {split})")
        parts[split] = ImageFiles(paths, labels, settings.image_size, job.device)
    train: Any = parts["train"]
    test: Any = parts["test"]
    return supervised.Splits(train, test, train.labels.clone(), NUM_CLASSES)


def single_seed_setup(job: Job, settings_cls: type[T]) -> tuple[T, int, supervised.Splits]:
    """As `supervised.single_seed_setup`, for Clothing1M (its own noisy labels: `label_noise` is none)."""
    settings = settings_from_dict(settings_cls, job.spec["settings"], job.label)
    if len(job.seeds) != 1:
        raise ValueError(f"{job.label}: the alasca trainer trains one seed per job (set batch_seeds: false)")
    (seed,) = job.seeds
    return settings, seed, load(job, settings)
