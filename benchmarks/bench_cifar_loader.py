"""Training throughput of WRN-16-4 on CIFAR-100-shaped data: device-resident input path vs torchvision's.

Both sides train a fresh WRN-16-4 (100 classes, same seed, same initial weights) with SGD (lr 0.1,
momentum 0.9), the same batch size, on the same device, doing forward + cross-entropy + backward + step
on every batch. Only the input pipeline differs:

  (a) this project: ``load_vision_dataset`` -> ``DeviceDataset`` (normalised once, resident on the device)
      -> ``DeviceBatchLoader`` with ``DeviceAugment(crop_padding=4, hflip=True, cutout_size=8)``;
  (b) the usual baseline: ``torchvision.datasets.CIFAR100`` + ``Compose([RandomCrop(32, padding=4),
      RandomHorizontalFlip(), ToTensor(), Normalize(mean, std), Cutout(8)])`` through
      ``DataLoader(shuffle=True, num_workers=--workers, pin_memory=<on CUDA>, persistent_workers=True)``
      and a host-to-device copy of every batch.

The augmentations are equivalent (black crop padding, p = 0.5 flips, an 8x8 cutout square with a uniform
centre, clipped at the border, applied after normalisation). ``persistent_workers`` spares the baseline
the worker restart at each epoch boundary, so it is the favourable setting for (b).

The data are FAKE: ``labelrepro.data.fake.write_fake_cifar`` writes ``--n-train`` random images in the
real CIFAR-100 file format into a temporary folder, and both pipelines read those files through
torchvision (whose md5 check is pointed at the fake files' checksums). Throughput does not depend on the
pixel values. Timing: ``--warmup`` steps (worker start-up, cuDNN autotuning, allocator) are excluded,
then ``--steps`` steps are timed (CUDA synchronised before reading the clock); epochs wrap around as
needed. Printed: images/s for both and the ratio (a) / (b).

    python benchmarks/bench_cifar_loader.py [--device cuda] [--amp] [--steps N] [--workers N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from unittest import mock

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from labelrepro.data.augment import DeviceAugment
from labelrepro.data.fake import cifar_checksum_overrides, write_fake_cifar
from labelrepro.data.vision import (
    DeviceBatchLoader,
    DeviceDataset,
    get_dataset_info,
    load_vision_dataset,
)
from labelrepro.models.wrn import wrn16_4

Batches = Iterator[tuple[torch.Tensor, torch.Tensor]]


class Cutout:
    """Zero one ``size x size`` square of a normalised (C, H, W) tensor; centre uniform, clipped at borders.

    The per-sample counterpart of :func:`labelrepro.data.augment.cutout` (DeVries & Taylor 2017), drawing
    from torch's global RNG, which the DataLoader seeds per worker.
    """

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        _, h, w = img.shape
        cy, cx = int(torch.randint(h, ())), int(torch.randint(w, ()))
        y0, x0 = cy - self.size // 2, cx - self.size // 2
        img[:, max(y0, 0) : max(y0 + self.size, 0), max(x0, 0) : max(x0 + self.size, 0)] = 0.0
        return img  # a fresh tensor from Normalize, so modifying it in place is safe


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _forever(make_epoch: Callable[[], Iterator[tuple[torch.Tensor, torch.Tensor]]]) -> Batches:
    while True:
        yield from make_epoch()


def device_batches(root: str, args: argparse.Namespace, device: torch.device) -> Batches:
    """Pipeline (a); the dataset is read, normalised and moved to the device here, before timing."""
    info = get_dataset_info("cifar100")
    images, labels = load_vision_dataset("cifar100", root, train=True, download=False)
    data = DeviceDataset.from_uint8(images, labels, info, device)
    augment = DeviceAugment(crop_padding=4, hflip=True, cutout_size=8, crop_fill=info.normalized_black)
    loader = DeviceBatchLoader(
        data, args.batch_size, torch.Generator().manual_seed(args.seed), drop_last=True, augment=augment
    )
    return _forever(lambda: ((x, y) for _, x, y in loader))


def torchvision_batches(root: str, args: argparse.Namespace, device: torch.device) -> Batches:
    """Pipeline (b): PIL transforms per sample in DataLoader workers, then a host-to-device copy."""
    info = get_dataset_info("cifar100")
    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(info.mean, info.std),
            Cutout(8),
        ]
    )
    dataset = datasets.CIFAR100(root, train=True, transform=transform, download=False)
    loader = DataLoader(
        dataset,
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=args.workers,
        pin_memory=device.type == "cuda",
        drop_last=True,
        persistent_workers=args.workers > 0,
        generator=torch.Generator().manual_seed(args.seed),
    )
    return _forever(
        lambda: ((x.to(device, non_blocking=True), y.to(device, non_blocking=True)) for x, y in loader)
    )


def train_throughput(batches: Batches, args: argparse.Namespace, device: torch.device) -> float:
    """Images/s of forward + backward + SGD step on a fresh WRN-16-4 fed by ``batches``."""
    torch.manual_seed(args.seed)
    model = wrn16_4(num_classes=100, generator=torch.Generator().manual_seed(args.seed)).to(device)
    amp = args.amp and device.type == "cuda"
    memory_format = torch.channels_last if amp else torch.contiguous_format
    model = model.to(memory_format=memory_format).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        x = x.contiguous(memory_format=memory_format)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step(*next(batches))
    _sync(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        step(*next(batches))
    _sync(device)
    return args.steps * args.batch_size / (time.perf_counter() - start)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 256 on CUDA, 64 on CPU")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default: 100 CUDA, 30 CPU)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps (default: 10 CUDA, 3 CPU)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the baseline")
    parser.add_argument("--n-train", type=int, default=4096, help="fake training images to write")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast + channels_last (CUDA only)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    args.device = device
    cuda = device.type == "cuda"
    args.batch_size = args.batch_size or (256 if cuda else 64)
    args.steps = args.steps if args.steps is not None else (100 if cuda else 30)
    args.warmup = args.warmup if args.warmup is not None else (10 if cuda else 3)
    if args.n_train < args.batch_size:
        parser.error(f"--n-train ({args.n_train}) must be at least --batch-size ({args.batch_size})")
    if args.amp and not cuda:
        print("note: --amp applies on CUDA only; ignored on", device)
    return args


def main() -> None:
    args = parse_args()
    device: torch.device = args.device
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    with tempfile.TemporaryDirectory(prefix="bench_cifar_loader_") as root:
        md5s = write_fake_cifar(
            root, "cifar100", n_train=args.n_train, n_test=args.batch_size, seed=args.seed
        )
        # torchvision verifies the files when a dataset object is built; point it at the fake checksums.
        with mock.patch.multiple(datasets.CIFAR100, **cifar_checksum_overrides("cifar100", md5s)):
            setup = time.perf_counter()
            batches_a = device_batches(root, args, device)  # reads + moves the data, outside the timing
            setup_a = time.perf_counter() - setup
            batches_b = torchvision_batches(root, args, device)
        ips_a = train_throughput(batches_a, args, device)
        del batches_a
        ips_b = train_throughput(batches_b, args, device)
        batches_b.close()  # shuts the persistent workers down before the folder goes

    name = (
        torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} threads"
    )
    print(
        f"device={device} ({name}) torch={torch.__version__} batch={args.batch_size} warmup={args.warmup} "
        f"steps={args.steps} n_train={args.n_train} workers={args.workers} "
        f"amp={args.amp and device.type == 'cuda'}"
    )
    print(
        f"(a) DeviceDataset + DeviceBatchLoader + DeviceAugment : {ips_a:10,.1f} images/s"
        f"  (one-time load to device {setup_a:.2f} s)"
    )
    print(f"(b) torchvision CIFAR100 + PIL transforms + DataLoader : {ips_b:10,.1f} images/s")
    print(f"ratio (a) / (b)                                        : {ips_a / ips_b:10.2f}x")


if __name__ == "__main__":
    main()
