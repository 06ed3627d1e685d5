"""Tests for labelrepro.data.fake: fake datasets read back through torchvision's real readers.

CIFAR files are read by ``torchvision.datasets.CIFAR10/100`` with only the recorded md5s swapped for the
fake files' (file names unchanged), so torchvision's own integrity check runs on them. MNIST-family files
are read through ``labelrepro.data.vision.load_vision_dataset(..., download=False)``.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets import CIFAR10, CIFAR100

from labelrepro.data.fake import (
    CIFAR10_CLASS_NAMES,
    cifar_checksum_overrides,
    main,
    write_fake_cifar,
    write_fake_dataset,
    write_fake_mnist,
)
from labelrepro.data.noise import CIFAR100_COARSE_NAMES, CIFAR100_COARSE_OF_FINE, CIFAR100_FINE_NAMES
from labelrepro.data.vision import DatasetUnavailableError, load_vision_dataset

CIFAR_CLS = {"cifar10": CIFAR10, "cifar100": CIFAR100}


def patch_md5s(monkeypatch: pytest.MonkeyPatch, name: str, md5s: dict[str, str]) -> type[CIFAR10]:
    cls = CIFAR_CLS[name]
    for attr, value in cifar_checksum_overrides(name, md5s).items():  # type: ignore[arg-type]
        monkeypatch.setattr(cls, attr, value)
    return cls


def nearest_mean_accuracy(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, k: int
) -> float:
    """Accuracy of the nearest-class-mean rule: a crude stand-in for 'a tiny model can learn this'."""
    xtr = train_x.reshape(len(train_x), -1).astype(np.float64)
    xte = test_x.reshape(len(test_x), -1).astype(np.float64)
    means = np.stack([xtr[train_y == c].mean(axis=0) for c in range(k)])
    d = ((xte[:, None, :] - means[None, :, :]) ** 2).sum(-1)
    return float((d.argmin(1) == test_y).mean())


def class_means(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    flat = x.reshape(len(x), -1).astype(np.float64)
    return np.stack([flat[y == c].mean(axis=0) for c in range(k)])


# --------------------------------------------------------------------------------------------------
# MNIST family
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_fake_mnist_loads_through_torchvision(tmp_path: Path, name: str) -> None:
    assert write_fake_mnist(tmp_path, name, n_train=200, n_test=57, seed=3) is None  # type: ignore[func-returns-value]
    folder = tmp_path / ("MNIST" if name == "mnist" else "FashionMNIST") / "raw"
    kinds = ("images-idx3-ubyte", "labels-idx1-ubyte")
    assert {p.name for p in folder.iterdir()} == {f"{s}-{k}" for s in ("train", "t10k") for k in kinds}
    xtr, ytr = load_vision_dataset(name, tmp_path, train=True, download=False)
    xte, yte = load_vision_dataset(name, tmp_path, train=False, download=False)
    assert xtr.shape == (200, 1, 28, 28) and xte.shape == (57, 1, 28, 28)
    assert xtr.dtype == torch.uint8 and ytr.dtype == torch.int64
    for y, n in ((ytr, 200), (yte, 57)):
        assert y.shape == (n,) and int(y.min()) >= 0 and int(y.max()) <= 9
        counts = torch.bincount(y, minlength=10)
        assert int(counts.min()) >= n // 10 and int(counts.max()) <= -(-n // 10)  # balanced, all present

    # Class signal: distinct class-mean images, and a nearest-mean rule far above chance (10 %).
    xtr_np, ytr_np, xte_np, yte_np = xtr.numpy(), ytr.numpy(), xte.numpy(), yte.numpy()
    means = class_means(xtr_np, ytr_np, 10)
    dist = np.sqrt(((means[:, None] - means[None]) ** 2).mean(-1))
    assert dist[~np.eye(10, dtype=bool)].min() > 20.0  # RMS difference in grey levels
    assert nearest_mean_accuracy(xtr_np, ytr_np, xte_np, yte_np, 10) > 0.9


def test_fake_mnist_determinism(tmp_path: Path) -> None:
    def files(sub: str, seed: int, n_train: int = 30) -> dict[str, bytes]:
        write_fake_mnist(tmp_path / sub, "mnist", n_train, 20, seed=seed)
        return {p.name: p.read_bytes() for p in (tmp_path / sub / "MNIST" / "raw").iterdir()}

    a, b, c, d = files("a", 0), files("b", 0), files("c", 1), files("d", 0, n_train=40)
    assert a == b
    assert all(a[f] != c[f] for f in a)
    # The test split is its own random stream: it does not depend on n_train.
    assert a["t10k-images-idx3-ubyte"] == d["t10k-images-idx3-ubyte"]
    assert a["train-images-idx3-ubyte"] != d["train-images-idx3-ubyte"]
    # MNIST and FashionMNIST differ for the same seed.
    write_fake_mnist(tmp_path / "e", "fashion_mnist", 30, 20, seed=0)
    assert (tmp_path / "e" / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").read_bytes() != a[
        "t10k-images-idx3-ubyte"
    ]


# --------------------------------------------------------------------------------------------------
# CIFAR
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "n_train", "n_test"), [("cifar10", 203, 41), ("cifar100", 230, 120)])
def test_fake_cifar_loads_through_torchvision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, n_train: int, n_test: int
) -> None:
    k = 10 if name == "cifar10" else 100
    md5s = write_fake_cifar(tmp_path, name, n_train, n_test, seed=5)  # type: ignore[arg-type]
    cls = CIFAR_CLS[name]
    expected_files = {f for f, _ in cls.train_list + cls.test_list} | {cls.meta["filename"]}
    assert set(md5s) == expected_files
    assert {p.name for p in (tmp_path / cls.base_folder).iterdir()} == expected_files
    assert all(len(v) == 32 and int(v, 16) >= 0 for v in md5s.values())

    patch_md5s(monkeypatch, name, md5s)
    train, test = cls(str(tmp_path), train=True), cls(str(tmp_path), train=False)
    for ds, n in ((train, n_train), (test, n_test)):
        assert ds.data.shape == (n, 32, 32, 3) and ds.data.dtype == np.uint8
        y = np.asarray(ds.targets)
        assert len(y) == n and y.min() >= 0 and y.max() < k
        counts = np.bincount(y, minlength=k)
        assert counts.min() >= n // k >= 1 and counts.max() <= -(-n // k)  # balanced, every class present
    assert train.classes == list(CIFAR10_CLASS_NAMES if k == 10 else CIFAR100_FINE_NAMES)

    # The project's loader reads the same files (under the same patched checksums), as NCHW.
    images, labels = load_vision_dataset(name, tmp_path, train=False, download=False)
    assert torch.equal(images, torch.from_numpy(test.data).permute(0, 3, 1, 2))
    assert labels.tolist() == list(test.targets)

    # Class signal: every pair of class-mean images differs clearly; nearest-mean far above chance.
    means = class_means(train.data, np.asarray(train.targets), k)
    dist = np.sqrt(((means[:, None] - means[None]) ** 2).mean(-1))
    assert dist[~np.eye(k, dtype=bool)].min() > 10.0
    acc = nearest_mean_accuracy(train.data, np.asarray(train.targets), test.data, np.asarray(test.targets), k)
    assert acc > 0.8


def test_fake_cifar_file_format(tmp_path: Path) -> None:
    """Python-2 style pickles: bytes keys (and bytes text) with encoding="bytes", as in the real files."""
    write_fake_cifar(tmp_path, "cifar10", n_train=13, n_test=4)
    folder = tmp_path / "cifar-10-batches-py"
    sizes = []
    for i in range(1, 6):
        with open(folder / f"data_batch_{i}", "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        assert set(batch) == {b"batch_label", b"labels", b"data", b"filenames"}
        assert isinstance(batch[b"batch_label"], bytes)
        assert batch[b"data"].dtype == np.uint8 and batch[b"data"].shape == (len(batch[b"labels"]), 3072)
        assert len(batch[b"filenames"]) == len(batch[b"labels"])
        assert all(isinstance(s, bytes) for s in batch[b"filenames"])
        sizes.append(len(batch[b"labels"]))
    assert sizes == [3, 3, 3, 2, 2]  # n_train split over the five batches
    with open(folder / "batches.meta", "rb") as f:
        meta = pickle.load(f, encoding="latin1")
    assert meta["label_names"] == list(CIFAR10_CLASS_NAMES) and meta["num_vis"] == 3072

    write_fake_cifar(tmp_path, "cifar100", n_train=300, n_test=100, seed=1)
    folder = tmp_path / "cifar-100-python"
    for split in ("train", "test"):
        with open(folder / split, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        assert set(batch) == {b"filenames", b"batch_label", b"fine_labels", b"coarse_labels", b"data"}
        fine, coarse = batch[b"fine_labels"], batch[b"coarse_labels"]
        assert coarse == [CIFAR100_COARSE_OF_FINE[f] for f in fine]  # the real superclasses
        assert set(coarse) == set(range(20))
    with open(folder / "meta", "rb") as f:
        meta = pickle.load(f, encoding="latin1")
    assert meta["fine_label_names"] == list(CIFAR100_FINE_NAMES)
    assert meta["coarse_label_names"] == list(CIFAR100_COARSE_NAMES)


def test_fake_cifar_needs_checksums(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unpatched, torchvision rejects the fake files; patched, its md5 check still catches corruption."""
    md5s = write_fake_cifar(tmp_path, "cifar100", 20, 10)
    with pytest.raises(RuntimeError, match="corrupted"):
        CIFAR100(str(tmp_path), train=True)
    with pytest.raises(DatasetUnavailableError):
        load_vision_dataset("cifar100", tmp_path, train=True, download=False)

    patch_md5s(monkeypatch, "cifar100", md5s)
    assert len(CIFAR100(str(tmp_path), train=True)) == 20
    path = tmp_path / "cifar-100-python" / "train"
    path.write_bytes(path.read_bytes()[:-1] + b"!")
    with pytest.raises(RuntimeError, match="corrupted"):
        CIFAR100(str(tmp_path), train=True)


def test_fake_cifar_determinism(tmp_path: Path) -> None:
    a = write_fake_cifar(tmp_path / "a", "cifar10", 50, 20, seed=7)
    b = write_fake_cifar(tmp_path / "b", "cifar10", 50, 20, seed=7)
    c = write_fake_cifar(tmp_path / "c", "cifar10", 50, 20, seed=8)
    d = write_fake_cifar(tmp_path / "d", "cifar10", 60, 20, seed=7)
    assert a == b
    assert all(a[f] != c[f] for f in a if f != "batches.meta")  # meta holds no random content
    assert a["test_batch"] == d["test_batch"] and a["data_batch_1"] != d["data_batch_1"]
    for f in a:
        assert (tmp_path / "a" / "cifar-10-batches-py" / f).read_bytes() == (
            tmp_path / "b" / "cifar-10-batches-py" / f
        ).read_bytes()


def test_small_cifar10_with_empty_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md5s = write_fake_cifar(tmp_path, "cifar10", n_train=3, n_test=0)
    patch_md5s(monkeypatch, "cifar10", md5s)
    assert CIFAR10(str(tmp_path), train=True).data.shape == (3, 32, 32, 3)
    assert CIFAR10(str(tmp_path), train=False).data.shape == (0, 32, 32, 3)


# --------------------------------------------------------------------------------------------------
# Safety, validation, command line
# --------------------------------------------------------------------------------------------------


def test_existing_files_are_not_overwritten(tmp_path: Path) -> None:
    first = write_fake_cifar(tmp_path, "cifar100", 10, 5)
    with pytest.raises(FileExistsError, match="overwrite"):
        write_fake_cifar(tmp_path, "cifar100", 10, 5, seed=1)
    assert first == write_fake_cifar(tmp_path, "cifar100", 10, 5, overwrite=True)
    write_fake_mnist(tmp_path, "mnist", 10, 5)
    with pytest.raises(FileExistsError):
        write_fake_mnist(tmp_path, "mnist", 10, 5)
    write_fake_mnist(tmp_path, "mnist", 10, 5, overwrite=True)


def test_invalid_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cifar"):
        write_fake_cifar(tmp_path, "mnist", 10, 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mnist"):
        write_fake_mnist(tmp_path, "cifar10", 10, 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_train"):
        write_fake_cifar(tmp_path, "cifar10", -1, 5)
    with pytest.raises(ValueError, match="valid names"):
        write_fake_dataset(tmp_path, "imagenet", 10, 5)
    with pytest.raises(KeyError, match="meta"):
        cifar_checksum_overrides("cifar100", {"train": "0" * 32, "test": "0" * 32})
    assert not any(tmp_path.iterdir())


def test_cli_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path), "--dataset", "cifar10", "--n-train", "20", "--n-test", "10"]) == 0
    out = capsys.readouterr().out
    assert "NOT the real" in out and "md5" in out and "data_batch_5" in out
    assert main(["--root", str(tmp_path), "--dataset", "cifar10", "--n-train", "20", "--n-test", "10"]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err


def test_cli_module_entry_point(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "labelrepro.data.fake", "--root", str(tmp_path), "--dataset", "fashion_mnist",
         "--n-train", "30", "--n-test", "10"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "NOT the real" in proc.stdout
    images, labels = load_vision_dataset("fashion_mnist", tmp_path, train=True, download=False)
    assert images.shape == (30, 1, 28, 28) and sorted(set(labels.tolist())) == list(range(10))
