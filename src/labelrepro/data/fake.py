"""Small FAKE datasets written in torchvision's real on-disk formats (for offline tests and benchmarks).

**These are not the real datasets.** The images are random pixels around a per-class prototype, written
so that torchvision's own readers (``MNIST``, ``FashionMNIST``, ``CIFAR10``, ``CIFAR100``) parse them
exactly as they parse the real downloads. That lets end-to-end tests run the workflow in a temporary
folder without network, and lets benchmarks time the real file-reading code paths. Any accuracy obtained
on them says nothing about the papers' results.

Integrity checks:

* CIFAR: torchvision verifies every CIFAR file against the md5 recorded in the class attributes
  ``train_list``/``test_list``/``meta``. These files have other md5s, so ``CIFAR10``/``CIFAR100`` (and
  hence :func:`labelrepro.data.vision.load_vision_dataset`) **reject them as corrupted** unless the caller
  disables integrity checking (e.g. a ``verify=False`` switch of ``load_vision_dataset``, where
  available) or points torchvision at the fake checksums: :func:`write_fake_cifar` returns them and
  :func:`cifar_checksum_overrides` turns them into the class attributes to patch (file names unchanged).
* MNIST / FashionMNIST: torchvision only checks that the four uncompressed IDX files exist (the md5s it
  knows are those of the ``.gz`` downloads), so the fake files load with ``download=False`` as they are.

Formats:

* IDX (MNIST family): big-endian magic ``0x00000803`` (images, uint8, 3 dims) or ``0x00000801`` (labels,
  uint8, 1 dim), big-endian uint32 sizes, then the raw bytes.
* CIFAR "python version": one protocol-2 pickle of a dict per file, written as Python 2's ``cPickle`` did,
  i.e. keys and text values are Python-2 ``str`` (``pickle.load(f, encoding="bytes")`` gives ``b"data"``,
  torchvision's ``encoding="latin1"`` gives ``"data"``). ``b"data"`` is a uint8 ``(N, 3072)`` array: the
  R plane, then G, then B, each 32x32 row-major. CIFAR-10 has ``b"labels"`` in five training batches plus
  ``test_batch`` and ``batches.meta``; CIFAR-100 has ``b"fine_labels"`` and ``b"coarse_labels"`` in
  ``train``/``test`` plus ``meta``. The coarse label is the real superclass of the fine label
  (:data:`labelrepro.data.noise.CIFAR100_COARSE_OF_FINE`), class names are the real ones. The array itself is
  pickled by the installed numpy (its protocol-2 form names numpy's current module path), so read the
  files with the numpy that wrote them.

Class signal: every class has a prototype image (CIFAR: a distinct mean colour from a grid plus a coarse
4x4 colour pattern; MNIST family: a distinct blocky 7x7 binary "glyph" on black), and every sample is its
class prototype plus Gaussian pixel noise, clipped to uint8. A tiny network (or a nearest-class-mean rule)
beats chance within a few epochs. Labels are balanced (every class present when ``n >= num_classes``) and
shuffled.

Determinism: the output is a pure function of ``(name, n_train, n_test, seed)``. Prototypes, the training
split and the test split draw from separate streams, so the test split does not change with ``n_train``
(and vice versa).

Command line (for trying workflow targets offline)::

    python -m labelrepro.data.fake --root DIR --dataset cifar100 --n-train 512 --n-test 256
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import pickle
import struct
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from torchvision.datasets import CIFAR10, CIFAR100

from labelrepro.data.noise import CIFAR100_COARSE_NAMES, CIFAR100_COARSE_OF_FINE, CIFAR100_FINE_NAMES

__all__ = [
    "CIFAR10_CLASS_NAMES",
    "FAKE_DATASET_NAMES",
    "cifar_checksum_overrides",
    "main",
    "write_fake_cifar",
    "write_fake_dataset",
    "write_fake_mnist",
]

#: The real CIFAR-10 class names, in label order (as in ``batches.meta``).
CIFAR10_CLASS_NAMES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

FAKE_DATASET_NAMES: tuple[str, ...] = ("mnist", "fashion_mnist", "cifar10", "cifar100")

_CIFAR_CLS: dict[str, type[CIFAR10]] = {"cifar10": CIFAR10, "cifar100": CIFAR100}
_MNIST_FOLDER: dict[str, str] = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
# Separate random streams: (seed, dataset, stream) -> generator.
_STREAM_PROTOTYPES, _STREAM_TRAIN, _STREAM_TEST = 0, 1, 2
_CHUNK = 4096  # samples generated at a time (bounds the float32 scratch memory)

# Pixel statistics of the fake images (uint8 scale).
_CIFAR_NOISE_STD = 48.0
_CIFAR_PATTERN_AMPLITUDE = 32.0
_MNIST_NOISE_STD = 40.0
_MNIST_INK = 200.0


# --------------------------------------------------------------------------------------------------
# Random streams, labels, images
# --------------------------------------------------------------------------------------------------


def _rng(seed: int, name: str, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), FAKE_DATASET_NAMES.index(name), stream])


def _balanced_labels(rng: np.random.Generator, n: int, num_classes: int) -> np.ndarray:
    """``n`` labels, each class ``floor(n / K)`` or ``ceil(n / K)`` times, in random order (int64)."""
    return rng.permutation(np.arange(n, dtype=np.int64) % num_classes)


def _sample_images(
    rng: np.random.Generator, prototypes: np.ndarray, labels: np.ndarray, noise_std: float
) -> np.ndarray:
    """uint8 images ``prototypes[labels] + N(0, noise_std^2)`` per pixel, clipped to [0, 255]."""
    out = np.empty((len(labels), *prototypes.shape[1:]), dtype=np.uint8)
    for start in range(0, len(labels), _CHUNK):
        lab = labels[start : start + _CHUNK]
        noise = rng.standard_normal((len(lab), *prototypes.shape[1:]), dtype=np.float32)
        x = prototypes[lab] + np.float32(noise_std) * noise
        out[start : start + _CHUNK] = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    return out


def _cifar_prototypes(rng: np.random.Generator, num_classes: int) -> np.ndarray:
    """float32 ``(K, 3, 32, 32)``: a distinct grid colour per class plus a coarse 4x4 colour pattern."""
    levels_per_channel = math.ceil(num_classes ** (1 / 3) - 1e-9)
    levels = np.linspace(56.0, 200.0, levels_per_channel)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    colours = grid[rng.choice(len(grid), size=num_classes, replace=False)]  # distinct by construction
    pattern = rng.uniform(-_CIFAR_PATTERN_AMPLITUDE, _CIFAR_PATTERN_AMPLITUDE, (num_classes, 3, 4, 4))
    pattern = pattern.repeat(8, axis=2).repeat(8, axis=3)
    return (colours[:, :, None, None] + pattern).astype(np.float32)


def _mnist_prototypes(rng: np.random.Generator, num_classes: int) -> np.ndarray:
    """float32 ``(K, 28, 28)``: distinct blocky 7x7 binary glyphs (4x4-pixel blocks) of ink on black."""
    while True:
        glyphs = rng.random((num_classes, 7, 7)) < 0.35
        if len(np.unique(glyphs.reshape(num_classes, -1), axis=0)) == num_classes:
            break
    return (_MNIST_INK * glyphs.repeat(4, axis=1).repeat(4, axis=2)).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# File formats
# --------------------------------------------------------------------------------------------------


def _idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file: magic (0, 0, type 0x08 = unsigned byte, ndim), big-endian uint32 dims, data."""
    if array.dtype != np.uint8:
        raise TypeError(f"IDX writer expects uint8, got {array.dtype}")
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def _py2_str(value: bytes) -> bytes:
    """Pickle opcodes of a Python-2 ``str`` (SHORT_BINSTRING, or BINSTRING when 256 bytes or longer)."""
    if len(value) < 256:
        return b"U" + bytes([len(value)]) + value
    return b"T" + struct.pack("<I", len(value)) + value


def _py2_value(value: Any) -> bytes:
    """Pickle opcodes (no PROTO/STOP) of one value of a CIFAR dict.

    ``bytes`` and lists of ``bytes`` become Python-2 ``str`` objects, like the text in the real files.
    Anything else (label lists, the data array) is spliced in from Python's own protocol-2 pickle. Its
    memo slots are numbered from 0 in every fragment, but a fragment only reads slots it wrote itself
    (earlier), so re-using slot numbers across fragments is harmless to the unpickler.
    """
    if isinstance(value, bytes):
        return _py2_str(value)
    if isinstance(value, list) and value and all(isinstance(v, bytes) for v in value):
        return b"](" + b"".join(_py2_str(v) for v in value) + b"e"  # EMPTY_LIST MARK ... APPENDS
    blob = pickle.dumps(value, protocol=2)
    if blob[:2] != b"\x80\x02" or blob[-1:] != b".":
        raise AssertionError("unexpected protocol-2 pickle framing")
    return blob[2:-1]


def _py2_pickle_dict(entries: dict[bytes, Any]) -> bytes:
    """A protocol-2 pickle of a dict with Python-2 ``str`` keys, as ``cPickle.dump`` wrote CIFAR files."""
    out = bytearray(b"\x80\x02}(")  # PROTO 2, EMPTY_DICT, MARK
    for key, value in entries.items():
        out += _py2_str(key) + _py2_value(value)
    out += b"u."  # SETITEMS, STOP
    return bytes(out)


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _check_not_present(paths: Sequence[Path], overwrite: bool) -> None:
    """Refuse to replace existing files (they may be the user's real dataset) unless ``overwrite``."""
    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"refusing to overwrite existing file(s) with FAKE data: {', '.join(existing)} "
            "(pass overwrite=True / --overwrite to replace them)"
        )


def _check_sizes(n_train: int, n_test: int) -> None:
    for what, n in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"{what} must be a non-negative integer, got {n!r}")


# --------------------------------------------------------------------------------------------------
# Public writers
# --------------------------------------------------------------------------------------------------


def write_fake_cifar(
    root: str | os.PathLike[str],
    name: Literal["cifar10", "cifar100"],
    n_train: int,
    n_test: int,
    seed: int = 0,
    *,
    overwrite: bool = False,
) -> dict[str, str]:
    """Write a FAKE CIFAR-10/100 in torchvision's format under ``root`` (see the module docstring).

    CIFAR-10 goes to ``<root>/cifar-10-batches-py/`` (``data_batch_1`` .. ``data_batch_5``, the training
    images split as evenly as possible, ``test_batch``, ``batches.meta``); CIFAR-100 to
    ``<root>/cifar-100-python/`` (``train``, ``test``, ``meta``).

    torchvision rejects these files as corrupted unless integrity checking is disabled or its recorded
    md5s are replaced by the returned ones (:func:`cifar_checksum_overrides`).

    Args:
        root: The ``root`` a torchvision ``CIFAR10``/``CIFAR100`` would be given.
        name: ``"cifar10"`` or ``"cifar100"``.
        n_train: Training images (>= 0).
        n_test: Test images (>= 0).
        seed: Seed of all random draws.
        overwrite: Replace existing files; by default existing files raise ``FileExistsError``, so a
            real download is never silently replaced by fake data.

    Returns:
        ``{file name: md5 hex digest}`` of every file written (batches and meta).
    """
    if name not in _CIFAR_CLS:
        raise ValueError(f"name must be 'cifar10' or 'cifar100', got {name!r}")
    _check_sizes(n_train, n_test)
    cls = _CIFAR_CLS[name]
    cifar100 = name == "cifar100"
    num_classes = 100 if cifar100 else 10
    folder = Path(os.path.expanduser(os.fspath(root))) / cls.base_folder
    train_files = [fname for fname, _ in cls.train_list]
    test_files = [fname for fname, _ in cls.test_list]
    meta_file = cls.meta["filename"]
    _check_not_present([folder / f for f in (*train_files, *test_files, meta_file)], overwrite)

    prototypes = _cifar_prototypes(_rng(seed, name, _STREAM_PROTOTYPES), num_classes)
    files: dict[str, bytes] = {}
    for split, fnames, n, stream in (
        ("training", train_files, n_train, _STREAM_TRAIN),
        ("testing", test_files, n_test, _STREAM_TEST),
    ):
        rng = _rng(seed, name, stream)
        labels = _balanced_labels(rng, n, num_classes)
        data = _sample_images(rng, prototypes, labels, _CIFAR_NOISE_STD).reshape(n, 3 * 32 * 32)
        offset = 0
        for k, (fname, part) in enumerate(
            zip(fnames, np.array_split(np.arange(n), len(fnames)), strict=True)
        ):
            lab = labels[part]
            filenames = [
                f"fake_{split}_{offset + i:06d}_class{int(c)}.png".encode() for i, c in enumerate(lab)
            ]
            batch_label = f"{split} batch {k + 1} of {len(fnames)} (FAKE data)".encode()
            if cifar100:
                entries: dict[bytes, Any] = {
                    b"filenames": filenames,
                    b"batch_label": batch_label,
                    b"fine_labels": [int(c) for c in lab],
                    b"coarse_labels": [CIFAR100_COARSE_OF_FINE[int(c)] for c in lab],
                    b"data": np.ascontiguousarray(data[part]),
                }
            else:
                entries = {
                    b"batch_label": batch_label,
                    b"labels": [int(c) for c in lab],
                    b"data": np.ascontiguousarray(data[part]),
                    b"filenames": filenames,
                }
            files[fname] = _py2_pickle_dict(entries)
            offset += len(part)

    if cifar100:
        meta: dict[bytes, Any] = {
            b"fine_label_names": [s.encode() for s in CIFAR100_FINE_NAMES],
            b"coarse_label_names": [s.encode() for s in CIFAR100_COARSE_NAMES],
        }
    else:
        meta = {
            b"num_cases_per_batch": math.ceil(n_train / len(train_files)),
            b"label_names": [s.encode() for s in CIFAR10_CLASS_NAMES],
            b"num_vis": 3 * 32 * 32,
        }
    files[meta_file] = _py2_pickle_dict(meta)

    folder.mkdir(parents=True, exist_ok=True)
    for fname, blob in files.items():
        (folder / fname).write_bytes(blob)
    return {fname: _md5(blob) for fname, blob in files.items()}


def cifar_checksum_overrides(name: Literal["cifar10", "cifar100"], md5s: dict[str, str]) -> dict[str, Any]:
    """torchvision class attributes that make ``CIFAR10``/``CIFAR100`` verify the fake files.

    Returns ``{"train_list": ..., "test_list": ..., "meta": ...}`` with torchvision's own file names and
    ``md5s`` (as returned by :func:`write_fake_cifar`), ready for ``monkeypatch.setattr``,
    ``unittest.mock.patch.multiple(CIFAR100, **overrides)`` or ``type("Fake", (CIFAR100,), overrides)``.
    torchvision's integrity check then really runs, against the fake files' checksums.
    """
    if name not in _CIFAR_CLS:
        raise ValueError(f"name must be 'cifar10' or 'cifar100', got {name!r}")
    cls = _CIFAR_CLS[name]
    needed = {f for f, _ in cls.train_list + cls.test_list} | {cls.meta["filename"]}
    missing = sorted(needed - set(md5s))
    if missing:
        raise KeyError(f"md5s lacks {name} file(s): {', '.join(missing)}")
    return {
        "train_list": [[f, md5s[f]] for f, _ in cls.train_list],
        "test_list": [[f, md5s[f]] for f, _ in cls.test_list],
        "meta": {**cls.meta, "md5": md5s[cls.meta["filename"]]},
    }


def write_fake_mnist(
    root: str | os.PathLike[str],
    name: Literal["mnist", "fashion_mnist"],
    n_train: int,
    n_test: int,
    seed: int = 0,
    *,
    overwrite: bool = False,
) -> None:
    """Write a FAKE MNIST/FashionMNIST as uncompressed IDX files (see the module docstring).

    Files: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte`` in ``<root>/MNIST/raw/`` or ``<root>/FashionMNIST/raw/``, the names
    torchvision looks for. torchvision does not md5-check these, so they load with ``download=False``.
    Existing files raise ``FileExistsError`` unless ``overwrite``.
    """
    if name not in _MNIST_FOLDER:
        raise ValueError(f"name must be 'mnist' or 'fashion_mnist', got {name!r}")
    _check_sizes(n_train, n_test)
    raw = Path(os.path.expanduser(os.fspath(root))) / _MNIST_FOLDER[name] / "raw"
    _check_not_present(
        [
            raw / f"{p}-{kind}"
            for p in ("train", "t10k")
            for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
        ],
        overwrite,
    )
    prototypes = _mnist_prototypes(_rng(seed, name, _STREAM_PROTOTYPES), 10)
    files: dict[str, bytes] = {}
    for prefix, n, stream in (("train", n_train, _STREAM_TRAIN), ("t10k", n_test, _STREAM_TEST)):
        rng = _rng(seed, name, stream)
        labels = _balanced_labels(rng, n, 10)
        images = _sample_images(rng, prototypes, labels, _MNIST_NOISE_STD)
        files[f"{prefix}-images-idx3-ubyte"] = _idx_bytes(images)
        files[f"{prefix}-labels-idx1-ubyte"] = _idx_bytes(labels.astype(np.uint8))
    raw.mkdir(parents=True, exist_ok=True)
    for fname, blob in files.items():
        (raw / fname).write_bytes(blob)


def write_fake_dataset(
    root: str | os.PathLike[str],
    name: str,
    n_train: int,
    n_test: int,
    seed: int = 0,
    *,
    overwrite: bool = False,
) -> dict[str, str] | None:
    """Dispatch to :func:`write_fake_cifar` (returns md5s) or :func:`write_fake_mnist` (returns None)."""
    if name in _CIFAR_CLS:
        return write_fake_cifar(root, name, n_train, n_test, seed, overwrite=overwrite)  # type: ignore[arg-type]
    if name in _MNIST_FOLDER:
        write_fake_mnist(root, name, n_train, n_test, seed, overwrite=overwrite)  # type: ignore[arg-type]
        return None
    raise ValueError(f"unknown dataset {name!r}; valid names are: {', '.join(FAKE_DATASET_NAMES)}")


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m labelrepro.data.fake``: write one fake dataset and say how to use it."""
    parser = argparse.ArgumentParser(
        prog="python -m labelrepro.data.fake",
        description="Write a small FAKE dataset (random images with a learnable class signal) in "
        "torchvision's on-disk format, for trying workflow targets offline. NOT the real data.",
    )
    parser.add_argument("--root", required=True, help="data directory (torchvision's root)")
    parser.add_argument("--dataset", required=True, choices=FAKE_DATASET_NAMES)
    parser.add_argument("--n-train", type=int, default=512, help="training images (default 512)")
    parser.add_argument("--n-test", type=int, default=256, help="test images (default 256)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    args = parser.parse_args(argv)
    if args.n_train < 0 or args.n_test < 0:
        parser.error("--n-train and --n-test must be >= 0")

    try:
        md5s = write_fake_dataset(
            args.root, args.dataset, args.n_train, args.n_test, args.seed, overwrite=args.overwrite
        )
    except FileExistsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    root = Path(os.path.expanduser(args.root))
    folder = root / (
        _CIFAR_CLS[args.dataset].base_folder if md5s is not None else f"{_MNIST_FOLDER[args.dataset]}/raw"
    )
    print(
        f"wrote FAKE {args.dataset} ({args.n_train} train / {args.n_test} test images, seed {args.seed}) "
        f"to {folder}"
    )
    print("These are NOT the real images: results on them are meaningless beyond smoke testing.")
    if md5s is not None:
        for fname, digest in md5s.items():
            print(f"  {fname}  md5 {digest}")
        print(
            "torchvision's md5 check rejects these files as corrupted unless integrity checking is "
            "disabled by the caller (or its recorded md5s are replaced by the ones above)."
        )
    else:
        print("torchvision does not md5-check the uncompressed MNIST-family files; they load as they are.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
