"""MNIST train/validation/test data of the LIMIT experiments (supplement Appendix B, official code).

The official code (hrayrhar/limit-label-memorization, `modules/data_utils.py`) splits the 60k MNIST
training images with `np.random.seed(seed); perm = np.random.permutation(60000)`: the first 80% train,
the rest validate. A training subset of size n is then `np.random.choice(train, n, replace=False)` from
the same generator. We reproduce both draws with NumPy's legacy `RandomState(seed)`, so seeds 42-46 give
the official splits (the "5 training/validation splits"). Uniform label noise (the label moves to a
different class with probability p) is applied to the training subset and to the validation set (the
official default `clean_validation=False`), through `apply_label_noise` with a seed that depends on the
split seed, n and the noise spec, never on the method: every method of a column sees the same labels.

Images are normalised with ImageNet statistics as in the official code: MNIST with mean 0.456 / std
0.224 (ImageNet's middle channel; instead of the torchvision MNIST statistics the other trainers use),
CIFAR with the ImageNet mean/std per channel. CIFAR-10/100 (Tables 6, 7, Figs. A1-A3) take the same
split (50k -> 40k train / 10k validation) and the same noise draw; Table 7's pair noise is
`data.noise.pair_noise` (`noise_model: pair`).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from labelrepro.data.noise import apply_label_noise, noise_seed
from labelrepro.data.vision import DatasetInfo, DeviceDataset, get_dataset_info, load_vision_dataset
from labelrepro.engine.job import Job

OFFICIAL_MNIST_MEAN = (0.456,)
OFFICIAL_MNIST_STD = (0.224,)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: The label-noise models of the LIMIT tables, as `data.noise` specs (`rate` is added per run).
NOISE_SPECS: dict[str, dict[str, Any]] = {
    "uniform": {"model": "symmetric", "allow_true_class": False},
    "pair": {"model": "pair"},
}


def official_info(dataset: str) -> DatasetInfo:
    """The dataset's `DatasetInfo` with the official code's (ImageNet) normalisation."""
    info = get_dataset_info(dataset)
    if info.channels == 1:
        return dataclasses.replace(info, mean=OFFICIAL_MNIST_MEAN, std=OFFICIAL_MNIST_STD)
    return dataclasses.replace(info, mean=IMAGENET_MEAN, std=IMAGENET_STD)


@dataclass
class LimitSplit:
    """One training/validation split on the device; `clean_train` holds the training labels before noise."""

    train: DeviceDataset
    val: DeviceDataset
    test: DeviceDataset
    clean_train: torch.Tensor
    num_classes: int

    @property
    def train_flip_rate(self) -> float:
        """The realised fraction of training labels changed by the noise."""
        return float((self.train.labels != self.clean_train).float().mean().item())


@dataclass
class RawData:
    """The whole MNIST train and test files as uint8 tensors, loaded once per job and shared by its splits."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


def load_raw(job: Job, dataset: str) -> RawData:
    """The dataset's train and test files, read once per process (a job's splits, and the runs of a
    packed job, share them); nothing modifies the cached tensors (`make_split` indexes copies)."""
    runtime = job.runtime
    return _read_raw(str(runtime.data_dir), dataset, runtime.download, runtime.verify_data)


@functools.lru_cache(maxsize=1)
def _read_raw(data_dir: str, dataset: str, download: bool, verify: bool) -> RawData:
    parts = [load_vision_dataset(dataset, data_dir, train, download, verify) for train in (True, False)]
    return RawData(*parts[0], *parts[1])


def split_indices(
    n_total: int, val_fraction: float, train_size: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices of one split, drawn as the official code draws them.

    `train_size` 0 keeps the whole training part; a larger size than the training part is an error
    (it would silently train on fewer examples than the table claims).
    """
    rng = np.random.RandomState(seed)
    perm = rng.permutation(n_total)
    train_count = int((1 - val_fraction) * n_total)
    train, val = perm[:train_count], perm[train_count:]
    if train_size > len(train):
        raise ValueError(
            f"train_size {train_size} exceeds the {len(train)} training examples left after the "
            f"{val_fraction:g} validation split of {n_total}"
        )
    if 0 < train_size < len(train):
        train = rng.choice(train, train_size, replace=False)
    return train, val


def _noisy(
    labels: torch.Tensor, spec: dict[str, Any], seed: int, what: str, num_classes: int
) -> torch.Tensor:
    generator = torch.Generator().manual_seed(noise_seed(seed, what, spec))
    return apply_label_noise(spec, labels, generator, num_classes=num_classes)


def make_split(
    raw: RawData,
    dataset: str,
    *,
    seed: int,
    val_fraction: float,
    train_size: int,
    noise_rate: float,
    test_subset: int,
    device: torch.device,
    official_normalization: bool = True,
    noise_model: str = "uniform",
) -> LimitSplit:
    """The data of one run: split `seed`, the training subset, the noisy labels, the test set."""
    info = official_info(dataset) if official_normalization else get_dataset_info(dataset)
    train_idx, val_idx = split_indices(len(raw.train_labels), val_fraction, train_size, seed)
    spec = {**NOISE_SPECS[noise_model], "rate": noise_rate}
    clean_train = raw.train_labels[torch.from_numpy(train_idx)]
    clean_val = raw.train_labels[torch.from_numpy(val_idx)]
    where = f"{dataset}/n={len(train_idx)}"
    noisy_train = _noisy(clean_train, spec, seed, f"{where}/train", info.num_classes)
    noisy_val = _noisy(clean_val, spec, seed, f"{where}/val", info.num_classes)
    test_images, test_labels = raw.test_images, raw.test_labels
    if 0 < test_subset < len(test_labels):
        test_images, test_labels = test_images[:test_subset], test_labels[:test_subset]
    train_images = raw.train_images[torch.from_numpy(train_idx)]
    val_images = raw.train_images[torch.from_numpy(val_idx)]
    return LimitSplit(
        train=DeviceDataset.from_uint8(train_images, noisy_train, info, device),
        val=DeviceDataset.from_uint8(val_images, noisy_val, info, device),
        test=DeviceDataset.from_uint8(test_images, test_labels, info, device),
        clean_train=clean_train.to(device),
        num_classes=info.num_classes,
    )
