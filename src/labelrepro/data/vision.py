"""Loading the real vision datasets (MNIST, FashionMNIST, CIFAR-10, CIFAR-100) onto the training device.

Why this module exists instead of the usual ``DataLoader(torchvision_dataset, transform=...)`` pipeline:

* The experiments re-train small networks hundreds of times (noise rates x seeds x methods). The stock
  pipeline converts every sample to a PIL image and back on every epoch, which dominates the run time
  for 28x28 / 32x32 images. Here the whole split is read once from torchvision's ``.data``/``.targets``
  arrays, normalised once, and kept on the training device; minibatches are plain tensor indexing.
* Label-noise methods keep per-sample state (noisy labels, EMA of predictions, loss histories), so the
  loader yields the dataset indices of every batch.
* Shuffling draws from a caller-supplied :class:`torch.Generator`, so the order of batches is a pure
  function of the seed the workflow records, independent of worker processes or the device.
* Reproducibility artifacts are often run offline. Whenever torchvision cannot find (or fetch) a dataset,
  :class:`DatasetUnavailableError` says in one line exactly which folder and files torchvision expects
  and where to download them from, so a user can place them by hand.
"""

from __future__ import annotations

import math
import os
import tarfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import CIFAR10, CIFAR100, MNIST, FashionMNIST, VisionDataset

__all__ = [
    "DATASET_INFO",
    "DATASET_NAMES",
    "BatchAugment",
    "DatasetInfo",
    "DatasetUnavailableError",
    "DeviceBatchLoader",
    "DeviceDataset",
    "get_dataset_info",
    "load_device_dataset",
    "load_vision_dataset",
]

DATASET_NAMES: tuple[str, ...] = ("mnist", "fashion_mnist", "cifar10", "cifar100")

#: A batch augmentation ``(images, generator) -> images``, e.g. :class:`~labelrepro.data.DeviceAugment`.
BatchAugment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

_MNIST_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about one supported dataset.

    Kept in one immutable record so that normalisation constants, the expected on-disk layout and the
    download source cannot drift apart between the loader, the error messages and the documentation.

    Attributes:
        name: Our canonical dataset name (one of :data:`DATASET_NAMES`).
        num_classes: Number of classes (the label range is ``[0, num_classes)``).
        channels: Image channels (1 for the MNIST family, 3 for CIFAR).
        image_size: Height == width of every image in pixels.
        mean: Per-channel mean of the training pixels scaled to [0, 1]; used for normalisation.
        std: Per-channel standard deviation matching ``mean``.
        torchvision_cls: The torchvision dataset class that reads the files.
        folder: Folder, relative to ``data_dir``, that torchvision reads the files from.
        files: File names torchvision needs inside ``folder`` (all of them, for both splits).
        urls: Official download URL(s) torchvision fetches from.
    """

    name: str
    num_classes: int
    channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    torchvision_cls: type[VisionDataset]
    folder: str
    files: tuple[str, ...]
    urls: tuple[str, ...]

    @property
    def normalized_black(self) -> tuple[float, ...]:
        """Per-channel value a black (0) pixel has after normalisation.

        Useful as the ``fill`` of a padded random crop when the padding must look like torchvision's
        PIL pipeline (which pads with black *before* normalising) rather than like the dataset mean (0.0).
        """
        return tuple(-m / s for m, s in zip(self.mean, self.std, strict=True))

    def expected_path(self, data_dir: str | os.PathLike[str]) -> Path:
        """The folder torchvision reads this dataset from, for a given ``data_dir``."""
        return Path(os.path.expanduser(os.fspath(data_dir))) / self.folder


def _mnist_urls(base: str) -> tuple[str, ...]:
    return tuple(f"{base}{fname}.gz" for fname in _MNIST_FILES)


DATASET_INFO: Mapping[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        name="mnist",
        num_classes=10,
        channels=1,
        image_size=28,
        mean=(0.1307,),
        std=(0.3081,),
        torchvision_cls=MNIST,
        folder="MNIST/raw",
        files=_MNIST_FILES,
        urls=_mnist_urls("https://ossci-datasets.s3.amazonaws.com/mnist/"),
    ),
    "fashion_mnist": DatasetInfo(
        name="fashion_mnist",
        num_classes=10,
        channels=1,
        image_size=28,
        mean=(0.2860,),
        std=(0.3530,),
        torchvision_cls=FashionMNIST,
        folder="FashionMNIST/raw",
        files=_MNIST_FILES,
        urls=_mnist_urls("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
    ),
    "cifar10": DatasetInfo(
        name="cifar10",
        num_classes=10,
        channels=3,
        image_size=32,
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
        torchvision_cls=CIFAR10,
        folder="cifar-10-batches-py",
        files=(*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta"),
        urls=("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
    ),
    "cifar100": DatasetInfo(
        name="cifar100",
        num_classes=100,
        channels=3,
        image_size=32,
        mean=(0.5071, 0.4865, 0.4409),
        std=(0.2673, 0.2564, 0.2762),
        torchvision_cls=CIFAR100,
        folder="cifar-100-python",
        files=("train", "test", "meta"),
        urls=("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",),
    ),
}


class DatasetUnavailableError(RuntimeError):
    """The dataset is not on disk and could not be downloaded.

    A distinct type lets the workflow tell "place the files by hand" apart from genuine bugs; the message
    is a single line so that it survives Snakemake/SLURM log summaries intact.
    """


def get_dataset_info(name: str) -> DatasetInfo:
    """Return the :class:`DatasetInfo` for ``name``; unknown names raise ``ValueError`` listing valid ones."""
    try:
        return DATASET_INFO[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r}; valid names are: {', '.join(DATASET_NAMES)}"
        ) from None


def _one_line(text: str) -> str:
    """Collapse all whitespace (torchvision's mirror errors span several lines) into single spaces."""
    return " ".join(text.split())


def _unavailable_message(info: DatasetInfo, data_dir: str | os.PathLike[str], train: bool,
                         download: bool, err: BaseException) -> str:
    folder = info.expected_path(data_dir)
    split = "train" if train else "test"
    what = "download failed" if download else "not found on disk and download=False"
    files = ", ".join(info.files)
    if info.torchvision_cls in (MNIST, FashionMNIST):
        how = (
            f"download {', '.join(info.urls)} into that folder and gunzip them "
            "(download=True also verifies and extracts .gz files already placed there, without network)"
        )
    else:
        how = (
            f"download {info.urls[0]} and extract it into {folder.parent}{os.sep} "
            "(the archive contains the folder)"
        )
    reason = _one_line(f"{type(err).__name__}: {err}")
    return _one_line(
        f"Dataset {info.name!r} ({split} split) is unavailable ({what}): torchvision expects the folder "
        f"{folder}{os.sep} containing {files}; to fix, {how}. Reason: {reason}"
    )


def _images_to_nchw(data: object, info: DatasetInfo) -> torch.Tensor:
    """Convert torchvision's ``.data`` (MNIST: uint8 tensor NHW; CIFAR: uint8 ndarray NHWC) to NCHW."""
    images = data if isinstance(data, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(data))
    if images.dtype != torch.uint8:
        raise ValueError(f"{info.name}: expected uint8 images from torchvision, got {images.dtype}")
    if images.ndim == 3:
        images = images.unsqueeze(1)
    elif images.ndim == 4:
        images = images.permute(0, 3, 1, 2)
    else:
        raise ValueError(f"{info.name}: unexpected image array shape {tuple(images.shape)}")
    expected = (info.channels, info.image_size, info.image_size)
    if tuple(images.shape[1:]) != expected:
        raise ValueError(
            f"{info.name}: images have shape {tuple(images.shape[1:])} per sample, expected {expected}"
        )
    return images.contiguous()


def _without_md5_checks(cls: type[VisionDataset]) -> type[VisionDataset]:
    """The same torchvision class with its file list's md5 sums set to None.

    torchvision's `check_integrity(path, None)` only checks that the file exists, so parsing stays
    torchvision's own. MNIST-style classes keep no md5 list for existing files and are returned as is.
    """
    if not hasattr(cls, "train_list"):
        return cls
    attributes = {
        "train_list": [[name, None] for name, _ in cls.train_list],  # type: ignore[attr-defined]
        "test_list": [[name, None] for name, _ in cls.test_list],  # type: ignore[attr-defined]
        "meta": {**cls.meta, "md5": None},  # type: ignore[attr-defined]
    }
    return type(f"Unverified{cls.__name__}", (cls,), attributes)


def load_vision_dataset(
    name: str,
    data_dir: str | os.PathLike[str],
    train: bool,
    download: bool = True,
    verify: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of a supported dataset as raw tensors through torchvision's own readers.

    The arrays are taken straight from the dataset's ``.data``/``.targets`` (no per-sample PIL round
    trip), so loading 60k images costs one memory copy. torchvision still does the file parsing and its
    integrity checks, which keeps us byte-compatible with everyone else's copy of the data.

    Args:
        name: One of :data:`DATASET_NAMES`.
        data_dir: The ``root`` passed to torchvision (see :meth:`DatasetInfo.expected_path`).
        train: Training split if true, else the test split.
        download: Let torchvision download missing files.
        verify: Check the md5 sums torchvision knows for the CIFAR files. False accepts any files in the
            right format (a locally prepared or reduced copy, or the fakes of `labelrepro.data.fake`).

    Returns:
        ``(images, labels)``: uint8 ``(N, C, H, W)`` on the CPU and int64 ``(N,)``.

    Raises:
        ValueError: Unknown ``name`` (the message lists the valid names) or malformed data.
        DatasetUnavailableError: Files missing/corrupted and not downloadable; the one-line message names
            the expected folder, its files, the download URL(s) and the original reason (chained).
    """
    info = get_dataset_info(name)
    root = os.path.expanduser(os.fspath(data_dir))
    dataset_cls = info.torchvision_cls if verify else _without_md5_checks(info.torchvision_cls)
    try:
        dataset = dataset_cls(root=root, train=train, download=download)
    except (OSError, RuntimeError, tarfile.TarError, EOFError) as err:
        # URLError and gzip errors are OSErrors; torchvision reports missing/corrupt files and exhausted
        # mirrors as RuntimeError. Anything else is a bug and should surface unchanged.
        raise DatasetUnavailableError(_unavailable_message(info, data_dir, train, download, err)) from err

    images = _images_to_nchw(dataset.data, info)  # type: ignore[attr-defined]
    labels = torch.as_tensor(dataset.targets, dtype=torch.int64)  # type: ignore[attr-defined]
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{info.name}: {images.shape[0]} images but labels of shape {tuple(labels.shape)}"
        )
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= info.num_classes):
        raise ValueError(f"{info.name}: labels outside [0, {info.num_classes})")
    return images, labels


@dataclass
class DeviceDataset:
    """A whole dataset split, normalised and resident on one device.

    Holding everything on the training device turns an epoch into a few hundred tensor-indexing ops
    (CIFAR-10 train is ~600 MB as float32, well within a single GPU), and makes the data identical for
    every method compared in an experiment.

    Attributes:
        images: float32 ``(N, C, H, W)``, normalised per channel with the dataset's mean/std.
        labels: int64 ``(N,)`` on the same device (may be noisy labels; trainers replace them freely).
        num_classes: Number of classes the labels range over.
    """

    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or not self.images.is_floating_point():
            raise ValueError(
                f"images must be a floating (N, C, H, W) tensor, got {self.images.dtype} "
                f"{tuple(self.images.shape)}"
            )
        if self.labels.ndim != 1 or self.labels.dtype != torch.int64:
            raise ValueError(
                f"labels must be an int64 (N,) tensor, got {self.labels.dtype} {tuple(self.labels.shape)}"
            )
        if self.labels.shape[0] != self.images.shape[0]:
            raise ValueError(f"{self.images.shape[0]} images but {self.labels.shape[0]} labels")
        if self.labels.device != self.images.device:
            raise ValueError(f"images on {self.images.device} but labels on {self.labels.device}")
        if self.num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {self.num_classes}")

    @classmethod
    def from_uint8(
        cls,
        images: torch.Tensor,
        labels: torch.Tensor,
        info: DatasetInfo,
        device: torch.device | str = "cpu",
    ) -> DeviceDataset:
        """Normalise uint8 ``(N, C, H, W)`` images with ``info``'s mean/std and move everything to ``device``.

        The uint8 tensor is moved first and converted on the device: a quarter of the host-to-device
        traffic, and the float conversion runs on the GPU when there is one.
        """
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"expected uint8 (N, C, H, W) images, got {images.dtype} {tuple(images.shape)}")
        if images.shape[1] != info.channels:
            raise ValueError(f"{info.name} has {info.channels} channel(s), images have {images.shape[1]}")
        device = torch.device(device)
        x = images.to(device).to(torch.float32).div_(255.0)
        mean = torch.tensor(info.mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        std = torch.tensor(info.std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        x.sub_(mean).div_(std)
        return cls(images=x, labels=labels.to(device=device, dtype=torch.int64), num_classes=info.num_classes)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def device(self) -> torch.device:
        """The device the data lives on."""
        return self.images.device

    def to(self, device: torch.device | str) -> DeviceDataset:
        """The dataset on ``device``; as with :meth:`torch.Tensor.to`, tensors already there are shared."""
        device = torch.device(device)
        return DeviceDataset(
            images=self.images.to(device), labels=self.labels.to(device), num_classes=self.num_classes
        )


def load_device_dataset(
    name: str,
    data_dir: str | os.PathLike[str],
    train: bool,
    device: torch.device | str = "cpu",
    download: bool = True,
) -> DeviceDataset:
    """:func:`load_vision_dataset` followed by :meth:`DeviceDataset.from_uint8` (the common case)."""
    images, labels = load_vision_dataset(name, data_dir, train=train, download=download)
    return DeviceDataset.from_uint8(images, labels, get_dataset_info(name), device)


class DeviceBatchLoader:
    """Minibatches of a :class:`DeviceDataset`, produced without leaving its device.

    The permutation for each epoch is drawn from ``generator`` on the generator's own device (normally the
    CPU) and then moved to the data's device. Drawing on the generator's device keeps the order a function
    of the seed alone, identical whether the data sits on CPU or GPU, and avoids the error PyTorch raises
    when a CPU generator is used for a CUDA ``randperm``. Each ``iter()`` starts a new epoch and advances
    the generator, so re-seeding the generator reproduces the whole sequence of epochs.

    Yields ``(indices, images, labels)``: ``indices`` (int64, on the data's device) are positions in the
    dataset, letting trainers update per-sample state (EMA targets, noisy-label bookkeeping).
    """

    def __init__(
        self,
        dataset: DeviceDataset,
        batch_size: int,
        generator: torch.Generator | None = None,
        *,
        shuffle: bool = True,
        drop_last: bool = False,
        augment: BatchAugment | None = None,
    ) -> None:
        """Args:
        dataset: The data to iterate.
        batch_size: Samples per batch (the last batch may be smaller unless ``drop_last``).
        generator: Source of all randomness (shuffling and ``augment``); required when either is used,
            because a silent fallback to the global RNG would break reproducibility.
        shuffle: Draw a fresh permutation every epoch; otherwise iterate in dataset order.
        drop_last: Drop the final incomplete batch (keeps BatchNorm statistics and step counts stable).
        augment: Optional ``(images, generator) -> images`` applied to every batch on the device.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if generator is None and (shuffle or augment is not None):
            raise ValueError("a torch.Generator is required when shuffle=True or augment is given")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.generator = generator
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.augment = augment

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _epoch_order(self) -> torch.Tensor:
        n = len(self.dataset)
        device = self.dataset.device
        if not self.shuffle:
            return torch.arange(n, device=device)
        assert self.generator is not None
        perm = torch.randperm(n, generator=self.generator, device=self.generator.device)
        return perm.to(device)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        order = self._epoch_order()
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            images = self.dataset.images.index_select(0, idx)
            labels = self.dataset.labels.index_select(0, idx)
            if self.augment is not None:
                assert self.generator is not None
                images = self.augment(images, self.generator)
            yield idx, images, labels
