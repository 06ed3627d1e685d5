"""Tests for labelrepro.data.vision, offline, through torchvision's real readers.

Tiny datasets are written in the exact on-disk formats torchvision parses (IDX ubyte for the MNIST
family, Python-2 style pickles for CIFAR), so the real torchvision code path, including its file
checks and md5 integrity checks, runs against them.
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
from pathlib import Path
from typing import Any
from urllib.error import URLError

import numpy as np
import pytest
import torch
from torchvision.datasets import CIFAR10, CIFAR100, MNIST, FashionMNIST

from labelrepro.data.vision import (
    DATASET_INFO,
    DATASET_NAMES,
    DatasetUnavailableError,
    DeviceBatchLoader,
    DeviceDataset,
    get_dataset_info,
    load_device_dataset,
    load_vision_dataset,
)

DEAD_URL = "http://127.0.0.1:9/"  # discard port on localhost: connection refused at once, never internet


# --------------------------------------------------------------------------------------------------
# Writers for torchvision's on-disk formats
# --------------------------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX file: big-endian magic (0x0000, type 0x08 = uint8, ndim), big-endian dims, raw bytes."""
    assert array.dtype == np.uint8 and array.ndim in (1, 3)
    magic = 0x0800 | array.ndim  # 2049 for labels, 2051 for images
    assert magic == {1: 2049, 3: 2051}[array.ndim]
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes(order="C")


def write_mnist_like(
    raw: Path, rng: np.random.Generator, n_train: int = 5, n_test: int = 3, gz: bool = False
) -> dict[str, np.ndarray]:
    """Write both splits of an MNIST-family dataset into ``raw`` and return the arrays written."""
    raw.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, (n_train,), dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, (n_test,), dtype=np.uint8),
    }
    for fname, arr in arrays.items():
        if gz:
            (raw / f"{fname}.gz").write_bytes(gzip.compress(idx_bytes(arr)))
        else:
            (raw / fname).write_bytes(idx_bytes(arr))
    return arrays


def py2_pickle_dict(d: dict[bytes, Any]) -> bytes:
    """A protocol-2 pickle of a dict whose keys are Python-2 ``str`` (SHORT_BINSTRING opcodes).

    That is how the CIFAR batches were written (cPickle under Python 2): ``pickle.load(f,
    encoding="bytes")`` yields ``b"data"`` keys, while torchvision's ``encoding="latin1"`` yields
    ``"data"``. Python 3 cannot emit that opcode for a key, so the dict frame is written by hand and
    each value is spliced in from its own protocol-2 pickle (PROTO header and STOP stripped; memo
    slots are only ever referenced within the fragment that created them).
    """
    out = bytearray(b"\x80\x02}(")  # PROTO 2, EMPTY_DICT, MARK
    for key, value in d.items():
        assert len(key) < 256
        out += b"U" + bytes([len(key)]) + key  # SHORT_BINSTRING
        fragment = pickle.dumps(value, protocol=2)
        assert fragment[:2] == b"\x80\x02" and fragment[-1:] == b"."
        out += fragment[2:-1]
    out += b"u."  # SETITEMS, STOP
    return bytes(out)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def cifar_batch(rng: np.random.Generator, n: int, cifar100: bool) -> tuple[dict[bytes, Any], np.ndarray]:
    """A CIFAR batch dict: b"data" is uint8 (n, 3072) = R plane, G plane, B plane, each 32x32 row-major."""
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    # A known per-channel pattern on sample 0: constant planes, plus one marked pixel per plane.
    data[0, 0:1024] = 11
    data[0, 1024:2048] = 22
    data[0, 2048:3072] = 33
    data[0, 0 * 1024 + 1 * 32 + 2] = 201  # R at (row 1, col 2)
    data[0, 1 * 1024 + 3 * 32 + 4] = 202  # G at (row 3, col 4)
    data[0, 2 * 1024 + 31 * 32 + 0] = 203  # B at (row 31, col 0)
    if cifar100:
        labels = rng.integers(0, 100, n)
        batch = {
            b"filenames": [f"img_{i}.png" for i in range(n)],
            b"batch_label": "tiny batch",
            b"fine_labels": [int(v) for v in labels],
            b"coarse_labels": [int(v) // 5 for v in labels],
            b"data": data,
        }
    else:
        labels = rng.integers(0, 10, n)
        batch = {
            b"batch_label": "tiny batch",
            b"labels": [int(v) for v in labels],
            b"data": data,
            b"filenames": [f"img_{i}.png" for i in range(n)],
        }
    return batch, labels


def write_cifar(
    root: Path, cls: type[CIFAR10], monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write every file ``cls`` needs, then point its md5 attributes at the tiny files.

    File names are kept; only the checksums change, so torchvision's own integrity check verifies
    these files for real. Returns {split: (data (N, 3072), labels)}.
    """
    cifar100 = cls is CIFAR100
    folder = root / cls.base_folder
    folder.mkdir(parents=True)

    def write_batches(names: list[str], n: int) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
        listing, datas, labels = [], [], []
        for fname in names:
            batch, lab = cifar_batch(rng, n, cifar100)
            path = folder / fname
            path.write_bytes(py2_pickle_dict(batch))
            listing.append([fname, md5(path)])
            datas.append(batch[b"data"])
            labels.append(lab)
        return listing, np.concatenate(datas), np.concatenate(labels)

    train_names = [name for name, _ in cls.train_list]
    test_names = [name for name, _ in cls.test_list]
    train_list, train_data, train_labels = write_batches(train_names, 2 if not cifar100 else 6)
    test_list, test_data, test_labels = write_batches(test_names, 3)

    meta_key = cls.meta["key"]
    names = [f"class_{i}" for i in range(100 if cifar100 else 10)]
    meta_content: dict[bytes, Any] = {meta_key.encode(): names}
    if cifar100:
        meta_content[b"coarse_label_names"] = [f"super_{i}" for i in range(20)]
    else:
        meta_content[b"num_cases_per_batch"] = 2
        meta_content[b"num_vis"] = 3072
    meta_path = folder / cls.meta["filename"]
    meta_path.write_bytes(py2_pickle_dict(meta_content))

    monkeypatch.setattr(cls, "train_list", train_list)
    monkeypatch.setattr(cls, "test_list", test_list)
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": md5(meta_path)})
    return {"train": (train_data, train_labels), "test": (test_data, test_labels)}


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure urllib connects to 127.0.0.1 directly, never through a configured proxy."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


# --------------------------------------------------------------------------------------------------
# Dataset info
# --------------------------------------------------------------------------------------------------


def test_dataset_info_matches_torchvision() -> None:
    """Our recorded URLs/folders/files must be the ones torchvision actually uses."""
    assert tuple(DATASET_INFO) == DATASET_NAMES
    for cls, name in ((MNIST, "mnist"), (FashionMNIST, "fashion_mnist")):
        info = DATASET_INFO[name]
        assert info.torchvision_cls is cls
        assert info.folder == f"{cls.__name__}/raw"
        assert info.urls == tuple(f"{cls.mirrors[0]}{fname}" for fname, _ in cls.resources)
        assert info.files == tuple(fname.removesuffix(".gz") for fname, _ in cls.resources)
    for cls, name in ((CIFAR10, "cifar10"), (CIFAR100, "cifar100")):
        info = DATASET_INFO[name]
        assert info.torchvision_cls is cls
        assert info.folder == cls.base_folder
        assert info.urls == (cls.url,)
        assert set(info.files) == {f for f, _ in cls.train_list + cls.test_list} | {cls.meta["filename"]}
    for info in DATASET_INFO.values():
        assert len(info.mean) == len(info.std) == info.channels


def test_unknown_name_lists_valid_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="imagenet") as excinfo:
        load_vision_dataset("imagenet", tmp_path, train=True, download=False)
    for name in DATASET_NAMES:
        assert name in str(excinfo.value)
    with pytest.raises(ValueError, match="cifar100"):
        get_dataset_info("CIFAR10")


# --------------------------------------------------------------------------------------------------
# Real formats round-trip
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
@pytest.mark.parametrize("train", [True, False])
def test_mnist_family_idx_round_trip(tmp_path: Path, name: str, train: bool) -> None:
    info = DATASET_INFO[name]
    arrays = write_mnist_like(tmp_path / info.folder, np.random.default_rng(0))
    images, labels = load_vision_dataset(name, tmp_path, train=train, download=False)

    prefix = "train" if train else "t10k"
    expected_images = arrays[f"{prefix}-images-idx3-ubyte"]
    expected_labels = arrays[f"{prefix}-labels-idx1-ubyte"]
    assert images.dtype == torch.uint8 and labels.dtype == torch.int64
    assert images.shape == (len(expected_images), 1, 28, 28)
    assert labels.shape == (len(expected_labels),)
    assert torch.equal(images[:, 0], torch.from_numpy(expected_images))
    assert labels.tolist() == expected_labels.astype(int).tolist()


def test_mnist_gz_files_are_extracted_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              no_proxy: None) -> None:
    """Only the .gz downloads are present: download=False refuses, download=True extracts without network."""
    raw = tmp_path / "MNIST" / "raw"
    arrays = write_mnist_like(raw, np.random.default_rng(1), gz=True)
    with pytest.raises(DatasetUnavailableError):
        load_vision_dataset("mnist", tmp_path, train=True, download=False)

    resources = [(f"{fname}.gz", md5(raw / f"{fname}.gz")) for fname in arrays]
    monkeypatch.setattr(MNIST, "resources", resources)
    monkeypatch.setattr(MNIST, "mirrors", [DEAD_URL])  # any real download attempt would fail
    images, labels = load_vision_dataset("mnist", tmp_path, train=True, download=True)
    assert torch.equal(images[:, 0], torch.from_numpy(arrays["train-images-idx3-ubyte"]))
    assert labels.tolist() == arrays["train-labels-idx1-ubyte"].astype(int).tolist()


def test_py2_pickle_helper_matches_cifar_format(tmp_path: Path) -> None:
    """The helper really produces the documented format: bytes keys with encoding="bytes"."""
    batch, _ = cifar_batch(np.random.default_rng(0), 2, cifar100=False)
    blob = py2_pickle_dict(batch)
    as_bytes = pickle.loads(blob, encoding="bytes")
    assert set(as_bytes) == {b"batch_label", b"labels", b"data", b"filenames"}
    as_latin1 = pickle.loads(blob, encoding="latin1")
    assert np.array_equal(as_latin1["data"], batch[b"data"])
    assert as_latin1["labels"] == batch[b"labels"]


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
@pytest.mark.parametrize("train", [True, False])
def test_cifar_pickle_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, train: bool
) -> None:
    info = DATASET_INFO[name]
    written = write_cifar(tmp_path, info.torchvision_cls, monkeypatch, np.random.default_rng(2))
    images, labels = load_vision_dataset(name, tmp_path, train=train, download=False)

    data, expected_labels = written["train" if train else "test"]
    n = len(data)
    assert images.dtype == torch.uint8 and labels.dtype == torch.int64
    assert images.shape == (n, 3, 32, 32) and images.is_contiguous()
    assert labels.tolist() == expected_labels.astype(int).tolist()  # fine labels for CIFAR-100
    # Channel planes are stored R, G, B, each row-major: that is exactly an (N, 3, 32, 32) reshape.
    assert torch.equal(images, torch.from_numpy(data.reshape(n, 3, 32, 32)))
    # Hand-placed pattern on the first sample: constant planes R=11, G=22, B=33 plus one marked pixel each.
    first = images[0]
    assert first[0, 1, 2] == 201 and first[1, 3, 4] == 202 and first[2, 31, 0] == 203
    for channel, value in enumerate((11, 22, 33)):
        assert int((first[channel] == value).sum()) == 32 * 32 - 1


def test_cifar_corrupted_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision's md5 check really runs: a modified batch file is rejected."""
    write_cifar(tmp_path, CIFAR10, monkeypatch, np.random.default_rng(3))
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:-1] + b"!")
    with pytest.raises(DatasetUnavailableError, match="corrupted"):
        load_vision_dataset("cifar10", tmp_path, train=False, download=False)


# --------------------------------------------------------------------------------------------------
# Offline errors
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_missing_dataset_without_download(tmp_path: Path, name: str) -> None:
    info = DATASET_INFO[name]
    with pytest.raises(DatasetUnavailableError) as excinfo:
        load_vision_dataset(name, tmp_path, train=True, download=False)
    msg = str(excinfo.value)
    assert "\n" not in msg
    assert name in msg
    assert str(tmp_path / info.folder) in msg
    for url in info.urls:
        assert url in msg
    for fname in info.files:
        assert fname in msg
    assert "download=False" in msg
    assert isinstance(excinfo.value, RuntimeError)
    assert isinstance(excinfo.value.__cause__, RuntimeError)  # torchvision's own "not found" error


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_failed_download_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_proxy: None, name: str
) -> None:
    info = DATASET_INFO[name]
    if info.torchvision_cls in (MNIST, FashionMNIST):
        monkeypatch.setattr(info.torchvision_cls, "mirrors", [DEAD_URL])
    else:
        monkeypatch.setattr(info.torchvision_cls, "url", f"{DEAD_URL}{info.torchvision_cls.filename}")
    with pytest.raises(DatasetUnavailableError) as excinfo:
        load_vision_dataset(name, tmp_path, train=False, download=True)
    msg = str(excinfo.value)
    assert "\n" not in msg
    assert "download failed" in msg
    assert str(tmp_path / info.folder) in msg
    assert info.urls[0] in msg  # the official URL, for fetching by hand
    assert "Reason:" in msg and "refused" in msg.lower()
    assert isinstance(excinfo.value.__cause__, URLError | RuntimeError)


# --------------------------------------------------------------------------------------------------
# DeviceDataset
# --------------------------------------------------------------------------------------------------


def test_device_dataset_normalisation_by_hand() -> None:
    info = get_dataset_info("cifar10")
    images = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    images[1, 1, 5, 7] = 128
    images[1, 2, 0, 0] = 255
    labels = torch.tensor([3, 9])
    ds = DeviceDataset.from_uint8(images, labels, info, "cpu")
    assert ds.images.dtype == torch.float32 and ds.images.shape == (2, 3, 32, 32)
    assert ds.labels.dtype == torch.int64 and ds.labels.tolist() == [3, 9]
    assert ds.num_classes == 10 and len(ds) == 2
    # (128 / 255 - 0.4822) / 0.2435 = (0.5019608 - 0.4822) / 0.2435 = 0.0811531
    assert ds.images[1, 1, 5, 7].item() == pytest.approx(0.0811531, abs=1e-6)
    # (1 - 0.4465) / 0.2616 = 2.1158257
    assert ds.images[1, 2, 0, 0].item() == pytest.approx(2.1158257, abs=1e-6)
    # black: -mean / std, also exposed for the crop fill
    assert ds.images[0, 0, 0, 0].item() == pytest.approx(-0.4914 / 0.2470, abs=1e-6)
    assert ds.images[0, :, 0, 0].tolist() == pytest.approx(list(info.normalized_black), abs=1e-6)


def test_device_dataset_validation_and_to() -> None:
    info = get_dataset_info("mnist")
    with pytest.raises(ValueError, match="uint8"):
        DeviceDataset.from_uint8(torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.int64), info)
    with pytest.raises(ValueError, match="channel"):
        DeviceDataset.from_uint8(
            torch.zeros(2, 3, 28, 28, dtype=torch.uint8), torch.zeros(2, dtype=torch.int64), info
        )
    with pytest.raises(ValueError, match="labels"):
        DeviceDataset(torch.zeros(2, 1, 2, 2), torch.zeros(3, dtype=torch.int64), 10)
    ds = DeviceDataset(torch.zeros(2, 1, 2, 2), torch.zeros(2, dtype=torch.int64), 10)
    moved = ds.to("meta")
    assert moved.images.device.type == "meta" and moved.labels.device.type == "meta"
    assert moved.num_classes == 10 and ds.device.type == "cpu"


def test_load_device_dataset(tmp_path: Path) -> None:
    arrays = write_mnist_like(tmp_path / "FashionMNIST" / "raw", np.random.default_rng(4))
    ds = load_device_dataset("fashion_mnist", tmp_path, train=False, device="cpu", download=False)
    expected = (torch.from_numpy(arrays["t10k-images-idx3-ubyte"]).float() / 255 - 0.2860) / 0.3530
    assert torch.allclose(ds.images[:, 0], expected, atol=1e-6)
    assert ds.labels.tolist() == arrays["t10k-labels-idx1-ubyte"].astype(int).tolist()


# --------------------------------------------------------------------------------------------------
# DeviceBatchLoader
# --------------------------------------------------------------------------------------------------


def index_dataset(n: int, device: str = "cpu") -> DeviceDataset:
    """Each image holds its own index, each label its index mod 7: batches are self-describing."""
    images = torch.arange(n, dtype=torch.float32, device=device).view(n, 1, 1, 1).repeat(1, 1, 2, 2)
    return DeviceDataset(images, torch.arange(n, device=device) % 7, num_classes=7)


def epoch(loader: DeviceBatchLoader) -> list[list[int]]:
    out = []
    for idx, images, labels in loader:
        assert idx.dtype == torch.int64
        assert torch.equal(images[:, 0, 0, 0].long(), idx) and torch.equal(labels, idx % 7)
        out.append(idx.tolist())
    return out


def test_loader_covers_every_index_once() -> None:
    loader = DeviceBatchLoader(index_dataset(10), 3, torch.Generator().manual_seed(0))
    assert len(loader) == 4
    batches = epoch(loader)
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(i for b in batches for i in b) == list(range(10))


def test_loader_drop_last() -> None:
    loader = DeviceBatchLoader(index_dataset(10), 3, torch.Generator().manual_seed(0), drop_last=True)
    assert len(loader) == 3
    batches = epoch(loader)
    flat = [i for b in batches for i in b]
    assert [len(b) for b in batches] == [3, 3, 3] and len(set(flat)) == 9


def test_loader_determinism_and_seed_dependence() -> None:
    def two_epochs(seed: int) -> list[list[list[int]]]:
        loader = DeviceBatchLoader(index_dataset(20), 4, torch.Generator().manual_seed(seed))
        return [epoch(loader), epoch(loader)]

    first, again, other = two_epochs(0), two_epochs(0), two_epochs(1)
    assert first == again
    assert first[0] != first[1]  # a fresh permutation every epoch
    assert first != other


def test_loader_no_shuffle_and_augment() -> None:
    calls: list[torch.Generator] = []

    def add_one(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        calls.append(g)
        return x + 1

    g = torch.Generator().manual_seed(0)
    loader = DeviceBatchLoader(index_dataset(5), 2, g, shuffle=False, augment=add_one)
    out = list(loader)
    assert [idx.tolist() for idx, _, _ in out] == [[0, 1], [2, 3], [4]]
    assert torch.equal(out[1][1][:, 0, 0, 0], torch.tensor([3.0, 4.0]))
    assert calls == [g, g, g]
    assert epoch(DeviceBatchLoader(index_dataset(5), 2, shuffle=False)) == [[0, 1], [2, 3], [4]]


def test_loader_requires_generator_and_valid_batch_size() -> None:
    with pytest.raises(ValueError, match="Generator"):
        DeviceBatchLoader(index_dataset(4), 2)
    with pytest.raises(ValueError, match="batch_size"):
        DeviceBatchLoader(index_dataset(4), 0, torch.Generator())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_loader_on_cuda_matches_cpu_order() -> None:
    cpu = epoch(DeviceBatchLoader(index_dataset(50), 8, torch.Generator().manual_seed(3)))
    loader = DeviceBatchLoader(index_dataset(50, "cuda"), 8, torch.Generator().manual_seed(3))
    batches = []
    for idx, images, labels in loader:
        assert idx.device.type == images.device.type == labels.device.type == "cuda"
        batches.append(idx.tolist())
    assert batches == cpu


def test_verify_false_accepts_cifar_files_that_fail_the_md5_check(tmp_path, monkeypatch):
    written = write_cifar(tmp_path, CIFAR10, monkeypatch, np.random.default_rng(7))
    monkeypatch.undo()  # back to torchvision's real md5 sums, which the tiny files cannot match
    with pytest.raises(DatasetUnavailableError):
        load_vision_dataset("cifar10", tmp_path, train=True, download=False)
    images, labels = load_vision_dataset("cifar10", tmp_path, train=True, download=False, verify=False)
    assert images.shape == (len(written["train"][1]), 3, 32, 32)
    assert labels.tolist() == list(written["train"][1])
    assert CIFAR10.train_list[0][1] is not None  # the real class is left untouched
