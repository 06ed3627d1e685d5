"""Stand-in datasets for smoke scale: small FAKE copies in torchvision's real on-disk format.

Smoke scale exists to check that every target builds end to end in minutes on a CPU, offline (CI,
a reviewer's laptop on a train). Downloading CIFAR-100 for a 128-image smoke run defeats both, so by
default (`smoke_data: standin` in the workflow config) a smoke-scale job reads a stand-in written by
:mod:`labelrepro.data.fake` into ``<data_dir>/standin/<dataset>/``: the real torchvision readers load it,
so the whole loading path is exercised, but the images are synthetic. Figures and tables built from it
say "smoke scale" on them; their numbers mean nothing about the papers. `smoke_data: real` runs the smoke
settings on the real (downloaded) data instead; paper scale always uses the real data.
"""

from __future__ import annotations

import os
from pathlib import Path

from labelrepro.core import atomic
from labelrepro.data.fake import FAKE_DATASET_NAMES, write_fake_dataset

#: Training and test images of every stand-in: enough for the smoke subsets of every experiment
#: (which must not exceed these), small enough to write in about a second.
STANDIN_TRAIN_IMAGES = 1000
STANDIN_TEST_IMAGES = 500
#: Fixed, so every machine builds the same stand-in (and the same smoke numbers on CPU).
STANDIN_SEED = 0

README = """STAND-IN DATA, NOT {name}.
Synthetic images (class prototype + noise) in torchvision's on-disk format, written by
`python -m labelrepro standin` for smoke-scale runs ({n_train} train / {n_test} test images, seed {seed}).
Results on it only show that the pipeline runs. Paper scale (and `--config smoke_data=real`) reads the
real dataset from the data directory, downloading it when missing.
"""


def standin_root(data_dir: str | os.PathLike[str], dataset: str) -> Path:
    """Where the stand-in of `dataset` lives: the `root` to hand to the torchvision class."""
    return Path(data_dir) / "standin" / dataset


def write_standin(out_dir: str | os.PathLike[str], dataset: str) -> Path:
    """Write the stand-in of `dataset` into `out_dir` (created atomically: never half-written)."""
    if dataset not in FAKE_DATASET_NAMES:
        raise ValueError(
            f"no stand-in for dataset '{dataset}'; stand-ins exist for {', '.join(FAKE_DATASET_NAMES)} "
            "(use --config smoke_data=real to run smoke scale on the real data)"
        )
    with atomic.atomic_directory(out_dir) as staging:
        write_fake_dataset(staging, dataset, STANDIN_TRAIN_IMAGES, STANDIN_TEST_IMAGES, STANDIN_SEED)
        (staging / "STANDIN_README.txt").write_text(
            README.format(name=dataset.upper(), n_train=STANDIN_TRAIN_IMAGES, n_test=STANDIN_TEST_IMAGES,
                          seed=STANDIN_SEED)
        )
    return Path(out_dir)
