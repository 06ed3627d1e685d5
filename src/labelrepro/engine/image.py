"""Shared pieces of the image-classification trainers (seeds 000, 001, 002, 004).

Data come from torchvision's files, are held on the training device as tensors and augmented there
(`labelrepro.data`). The optimiser is SGD with momentum (or Adam), the learning rate follows a per-step
schedule (linear warm-up then cosine, or constant, or steps), and on CUDA the forward pass runs under
bf16 autocast with channels_last tensors. Each epoch ends with a checkpoint when one is due, so a
killed job resumes at its last finished epoch with identical numbers.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

from labelrepro.core.config import settings_from_dict
from labelrepro.core.seeding import derive_seed, make_generator
from labelrepro.data.augment import DeviceAugment
from labelrepro.data.noise import apply_label_noise, noise_seed
from labelrepro.data.vision import DeviceBatchLoader, DeviceDataset, get_dataset_info, load_vision_dataset
from labelrepro.engine.job import Job
from labelrepro.engine.optim import build_optimizer, build_scheduler

T = TypeVar("T")


@dataclass
class Splits:
    """The run's training and test data on the device; `clean_labels` kept beside the noisy ones."""

    train: DeviceDataset
    test: DeviceDataset
    clean_labels: torch.Tensor
    num_classes: int


def _subset(n_total: int, n: int, what: str) -> torch.Tensor | None:
    """A fixed random subset, the same for every seed and method: it depends on `what` and n only."""
    if n <= 0 or n >= n_total:
        return None
    generator = torch.Generator().manual_seed(derive_seed("subset", what, n))
    return torch.randperm(n_total, generator=generator)[:n].sort().values


def load_splits(
    job: Job, dataset: str, train_subset: int, test_subset: int, label_noise: dict[str, Any], seed: int
) -> Splits:
    """Load train/test through torchvision, take the configured subsets, apply the label noise."""
    info = get_dataset_info(dataset)
    runtime = job.runtime
    parts = {}
    for split, n in (("train", train_subset), ("test", test_subset)):
        images, labels = load_vision_dataset(
            dataset, runtime.data_dir, split == "train", runtime.download, runtime.verify_data
        )
        index = _subset(len(labels), n, f"{dataset}-{split}")
        if index is not None:
            images, labels = images[index], labels[index]
        parts[split] = (images, labels)
    images, clean = parts["train"]
    generator = torch.Generator().manual_seed(noise_seed(seed, dataset, label_noise))
    needs_pixels = label_noise.get("model") in ("instance", "instance_cores")  # raw uint8 0-255 images
    features = images.flatten(1).float() if needs_pixels else None
    noisy = apply_label_noise(
        label_noise, clean, generator, num_classes=info.num_classes, dataset=dataset, features=features
    )
    train = DeviceDataset.from_uint8(images, noisy, info, job.device)
    test = DeviceDataset.from_uint8(*parts["test"], info, job.device)
    return Splits(train, test, clean.to(job.device), info.num_classes)


def single_seed_setup(job: Job, settings_cls: type[T], trainer: str) -> tuple[T, int, Splits]:
    """Validated settings, the seed and the noisy data of a trainer that runs one seed per job
    (CIFAR-size models: batching seeds would not fit a GPU or save time)."""
    settings = settings_from_dict(settings_cls, job.spec["settings"], job.label)
    if len(job.seeds) != 1:
        raise ValueError(
            f"{job.label}: the {trainer} trainer trains one seed per job (set batch_seeds: false)"
        )
    (seed,) = job.seeds
    data: Any = settings  # every one-seed trainer's settings name its dataset, subsets and label noise
    splits = load_splits(job, data.dataset, data.train_subset, data.test_subset, data.label_noise, seed)
    return settings, seed, splits


def train_batches(splits: Splits, settings: Any, seed: int) -> DeviceBatchLoader:
    """The shuffled, augmented training batches of a CIFAR run (order and augmentation from the seed);
    `settings` names `batch_size`, `augment` and `dataset`."""
    return DeviceBatchLoader(
        splits.train,
        settings.batch_size,
        data_generator(seed),
        shuffle=True,
        drop_last=False,
        augment=augmentation(settings.augment, settings.dataset),
    )


def augmentation(settings_augment: dict[str, Any], dataset: str) -> DeviceAugment:
    info = get_dataset_info(dataset)
    return DeviceAugment.from_config(settings_augment, crop_fill=info.normalized_black)


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (no loss scaling needed); a no-op on CPU, where fp32 is both exact and fast."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prepare_model(model: torch.nn.Module, device: torch.device, channels_last: bool) -> torch.nn.Module:
    model = model.to(device)
    if channels_last and device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return model


def maybe_compile(module: Callable, enabled: bool) -> Callable:
    """Opt-in `torch.compile` of a forward function (first epoch pays the compile time)."""
    return torch.compile(module) if enabled else module


def to_input(images: torch.Tensor, channels_last: bool) -> torch.Tensor:
    if channels_last and images.device.type == "cuda":
        return images.contiguous(memory_format=torch.channels_last)
    return images


def eval_batches(
    data: DeviceDataset, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Sequential (index, image, label) batches for evaluation, no augmentation."""
    for start in range(0, len(data), batch_size):
        index = torch.arange(start, min(start + batch_size, len(data)), device=data.images.device)
        yield index, data.images[index], data.labels[index]


def data_generator(seed: int) -> torch.Generator:
    """The generator of a run's batch order and augmentation."""
    return make_generator(seed, "batches")


class Stage:
    """A network with its optimiser, its shuffled and augmented batches and its per-step learning-rate
    schedule: what one training stage of an image run holds and checkpoints. `epochs` overrides the
    settings' epochs for the schedule (HAR's first stage is shorter than its second). `params` (default:
    all of `net`'s parameters) may be parameter groups, e.g. with their own weight decay."""

    def __init__(self, net: torch.nn.Module, settings: Any, splits: Splits, seed: int,
                 epochs: int | None = None, params: Any = None) -> None:
        stage_settings = settings if epochs is None else dataclasses.replace(settings, epochs=epochs)
        self.net = net
        self.optimizer = build_optimizer(stage_settings, net.parameters() if params is None else params)
        self.batches = train_batches(splits, settings, seed)
        self.scheduler = build_scheduler(stage_settings, self.optimizer, len(self.batches))

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generator": self.batches.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.batches.generator.set_state(state["generator"])
