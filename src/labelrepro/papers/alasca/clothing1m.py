"""Clothing1M (Xiao et al. 2015) for seed 002's Table 2: the dataset's own layout, read as the authors' code
reads it (jongwooko/ALASCA `dataset/clothing1M.py`), and one clear error when it is absent.

Clothing1M cannot be downloaded: its authors hand it out on request. A copy is a folder holding the
image folders and the key files::

    <root>/images/0/00/xxx.jpg ...       (or the same folders directly under <root>, as the official
                                          loaders expect: they strip the keys' leading "images/")
    noisy_label_kv.txt      "<key> <label>" for the ~1M noisily labelled images
    clean_label_kv.txt      "<key> <label>" for the human-checked images
    noisy_train_key_list.txt, clean_train_key_list.txt, clean_val_key_list.txt, clean_test_key_list.txt
    category_names_eng.txt  the 14 class names (optional)

Each key file may sit in `<root>/` or `<root>/annotations/` (the authors' code reads some from each).
Training uses the noisy labels of `noisy_train_key_list.txt`; validation and test the clean labels of
`clean_val_key_list.txt` / `clean_test_key_list.txt`. The `alasca_table2` target reads the copy at
`<data_dir>/clothing1m/` (`clothing1m_root`; `data_dir` is the workflow's config key). `write_fake_copy`
writes a small FAKE copy in the same layout (tiny synthetic JPEGs), the stand-in of smoke scale and of the
tests; `labelrepro.papers.alasca.clothing1m_data` turns a copy into training and test batches.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NUM_CLASSES = 14
REQUIRED_FILES = ("noisy_label_kv.txt", "clean_label_kv.txt", "noisy_train_key_list.txt",
                  "clean_val_key_list.txt", "clean_test_key_list.txt")
OPTIONAL_FILES = ("clean_train_key_list.txt", "category_names_eng.txt")
#: The released `category_names_eng.txt`, in label order.
CATEGORY_NAMES = ("T-Shirt", "Shirt", "Knitwear", "Chiffon", "Sweater", "Hoodie", "Windbreaker", "Jacket",
                  "Downcoat", "Suit", "Shawl", "Dress", "Vest", "Underwear")
#: Folder of the copy under the workflow's data directory.
FOLDER = "clothing1m"
SPLITS = {"train": ("noisy_train_key_list.txt", "noisy_label_kv.txt"),
          "val": ("clean_val_key_list.txt", "clean_label_kv.txt"),
          "test": ("clean_test_key_list.txt", "clean_label_kv.txt")}


class Clothing1MMissingError(FileNotFoundError):
    """Clothing1M is not where the run looks for it (raised before training starts)."""


def _find(root: Path, name: str) -> Path | None:
    for candidate in (root / name, root / "annotations" / name):
        if candidate.is_file():
            return candidate
    return None


def check_layout(root: str | Path) -> dict[str, Path]:
    """The key files of a Clothing1M copy at `root`, by name; raises one `Clothing1MMissingError` naming the
    folder, every missing file and how to obtain the data."""
    root = Path(root)
    found = {name: path for name in (*REQUIRED_FILES, *OPTIONAL_FILES) if (path := _find(root, name))}
    missing = [name for name in REQUIRED_FILES if name not in found]
    if missing:
        raise Clothing1MMissingError(
            f"Clothing1M not found in {root}/ (missing: {', '.join(missing)}). Expected there (or in "
            f"{root}/annotations/): {', '.join(REQUIRED_FILES)} "
            f"(and optionally {', '.join(OPTIONAL_FILES)}), plus the image folders (images/0 ... "
            f"images/9 or 0 ... 9). Clothing1M cannot be downloaded automatically: request it from its "
            f"authors (Xiao et al., 'Learning from massive noisy labeled data for image "
            f"classification', CVPR 2015), unpack it into {root}/ (or link it there; the workflow reads "
            f"<data_dir>/clothing1m/, so `--config data_dir=DIR` reads DIR/clothing1m/) and run again."
        )
    return found


def _read_labels(path: Path) -> dict[str, int]:
    labels = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            labels[parts[0]] = int(parts[1])
    return labels


def _image_path(root: Path, key: str) -> Path:
    """`<root>/<key>` if it exists, else `<root>/<key without its leading images/>` (official loaders)."""
    direct = root / key
    if direct.exists() or not key.startswith("images/"):
        return direct
    return root / key[len("images/"):]


@dataclass(frozen=True)
class Clothing1MSplit:
    """One split's image files and labels (noisy for train, clean for val/test)."""

    paths: tuple[Path, ...]
    labels: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.paths)


def load_split(root: str | Path, split: str) -> Clothing1MSplit:
    """The image paths and labels of `split` ("train", "val" or "test"); keys without a label are
    skipped, as in the official loaders (every listed key has one in the released files)."""
    if split not in SPLITS:
        raise ValueError(f"unknown Clothing1M split {split!r}; use one of {', '.join(SPLITS)}")
    root = Path(root)
    files = check_layout(root)
    keys_file, labels_file = SPLITS[split]
    labels = _read_labels(files[labels_file])
    keys = [k.strip() for k in files[keys_file].read_text().splitlines() if k.strip()]
    kept = [k for k in keys if k in labels]
    return Clothing1MSplit(tuple(_image_path(root, k) for k in kept), tuple(labels[k] for k in kept))


def class_names(root: str | Path) -> list[str]:
    """The 14 English class names if `category_names_eng.txt` is there, else "class 0" ... "class 13"."""
    path = check_layout(root).get("category_names_eng.txt")
    if path is None:
        return [f"class {i}" for i in range(NUM_CLASSES)]
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def clothing1m_root(data_dir: str | os.PathLike[str]) -> Path:
    """Where a run looks for Clothing1M: `<data_dir>/clothing1m/` (a symbolic link to a copy works)."""
    return Path(data_dir) / FOLDER


#: Sizes of the smoke-scale stand-in (a few hundred tiny JPEGs; written in about a second).
FAKE_SIZES = {"train": 140, "val": 28, "test": 70}
FAKE_IMAGE_SIZE = 40
FAKE_NOISE_RATE = 0.385  # the estimated noise level of the real noisy labels (Song et al. 2019, §4.4)
FAKE_README = """FAKE CLOTHING1M, NOT THE REAL DATASET.
{n_train} noisy-train / {n_val} val / {n_test} test synthetic {size}x{size} JPEGs (a colour and stripe
pattern per class plus pixel noise) in Clothing1M's layout, written by labelrepro.papers.alasca.clothing1m
(seed {seed}); {rate:.1%} of the noisy-train labels are flipped to a random other class. Results on it only
show that the pipeline runs. Paper scale reads the real dataset from <data_dir>/clothing1m/.
"""


def write_fake_copy(root: str | os.PathLike[str], n_train: int = FAKE_SIZES["train"],
                    n_val: int = FAKE_SIZES["val"], n_test: int = FAKE_SIZES["test"], seed: int = 0,
                    size: int = FAKE_IMAGE_SIZE, noise_rate: float = FAKE_NOISE_RATE) -> Path:
    """Write a FAKE Clothing1M copy into `root` in the real layout: `images/<d>/<dd>/<n>.jpg`, the label
    and key files where the authors' loader reads them (annotations/ for the label files and the test keys,
    the root for the noisy-train and val keys), balanced classes, noisy train labels."""
    from PIL import Image

    root = Path(root)
    rng = np.random.default_rng([int(seed), 1_000_000])
    colours = rng.integers(30, 226, size=(NUM_CLASSES, 3))
    periods = 2 + np.arange(NUM_CLASSES) % 5
    noisy_lines, clean_lines, lists = [], [], {"noisy_train": [], "clean_val": [], "clean_test": []}
    number = 0
    for split, n in (("noisy_train", n_train), ("clean_val", n_val), ("clean_test", n_test)):
        labels = np.arange(n) % NUM_CLASSES
        rng.shuffle(labels)
        for label in labels:
            key = f"images/{number % 10}/{number % 100:02d}/{number}.jpg"
            number += 1
            stripes = (np.arange(size)[:, None] // periods[label]) % 2
            pixels = colours[label][None, None, :] * (0.7 + 0.3 * stripes[..., None])
            pixels = pixels + rng.normal(0.0, 25.0, size=(size, size, 3))
            path = root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, format="JPEG", quality=90)
            lists[split].append(key)
            if split == "noisy_train":
                given = int(label)
                if rng.random() < noise_rate:
                    given = int((label + rng.integers(1, NUM_CLASSES)) % NUM_CLASSES)
                noisy_lines.append(f"{key} {given}")
            else:
                clean_lines.append(f"{key} {int(label)}")
    annotations = root / "annotations"
    annotations.mkdir(parents=True, exist_ok=True)
    (annotations / "noisy_label_kv.txt").write_text("\n".join(noisy_lines) + "\n")
    (annotations / "clean_label_kv.txt").write_text("\n".join(clean_lines) + "\n")
    (annotations / "clean_test_key_list.txt").write_text("\n".join(lists["clean_test"]) + "\n")
    (annotations / "category_names_eng.txt").write_text("\n".join(CATEGORY_NAMES) + "\n")
    (root / "noisy_train_key_list.txt").write_text("\n".join(lists["noisy_train"]) + "\n")
    (root / "clean_val_key_list.txt").write_text("\n".join(lists["clean_val"]) + "\n")
    (root / "FAKE_README.txt").write_text(FAKE_README.format(
        n_train=n_train, n_val=n_val, n_test=n_test, size=size, seed=seed, rate=noise_rate))
    return root
