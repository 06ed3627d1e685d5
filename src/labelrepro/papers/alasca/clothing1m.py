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
`clean_val_key_list.txt` / `clean_test_key_list.txt`. This module is the loader only: the `alasca_table2`
target (trainer, experiment file) is not built yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NUM_CLASSES = 14
REQUIRED_FILES = ("noisy_label_kv.txt", "clean_label_kv.txt", "noisy_train_key_list.txt",
                  "clean_val_key_list.txt", "clean_test_key_list.txt")
OPTIONAL_FILES = ("clean_train_key_list.txt", "category_names_eng.txt")
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
            f"classification', CVPR 2015), unpack it into {root}/ and run again."
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
