"""Atomic file writes.

Snakemake treats an existing output file as done. A job killed half-way through writing a CSV would
otherwise leave a truncated file that looks finished; writing to a temporary sibling and renaming it
(`os.replace` is atomic on POSIX within one file system) makes every output either complete or absent.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def partial_prefix(path: Path) -> str:
    """Name prefix of the temporary siblings of `path` while it is being written.

    The random part that `tempfile` appends never contains a dot, so `.<name>.partial-*` matches the
    temporaries of `<name>` only, never those of a sibling such as `<name>.2` (cells `label_noise-0`
    and `label_noise-0.2` are written concurrently in the same folder).
    """
    return f".{path.name}.partial-"


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to `path`; move it onto `path` only if the block succeeds.

    The temporary name keeps the final suffix so that writers that infer the format from the file name
    (matplotlib, pandas) behave as they would on the real path.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=partial_prefix(final), suffix=final.suffix, dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a staging directory that replaces `path` as a whole when the block succeeds.

    Used for job outputs that are directories (one sub-folder per run): readers never see a directory
    with only some of its runs.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f"{partial_prefix(final)}*"):  # left by a writer that was killed
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=partial_prefix(final), dir=final.parent))
    try:
        yield staging
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Atomically write a text file."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Atomically write JSON (indented, keys sorted, so records diff cleanly)."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_csv(path: str | os.PathLike[str], frame: Any) -> None:
    """Atomically write a pandas DataFrame as CSV without its index."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def torch_save(path: str | os.PathLike[str], obj: Any) -> None:
    """Atomically `torch.save` an object (checkpoints must never be half-written either)."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
