"""Device selection: CUDA when present, CPU otherwise, or what the config forces."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

import torch

# Lock files of GPUs claimed by running jobs of this process (kept open for the process lifetime:
# the operating system releases the lock when the job ends, however it ends).
_CLAIMED: list[IO[str]] = []


def claim_slot(lock_dir: str | Path, slots: int) -> int | None:
    """Claim the lowest free slot in [0, slots) with an exclusive `flock`, or None if all are taken.

    Used to spread local jobs over the GPUs of one multi-GPU machine: Snakemake's `--resources gpu=N`
    caps how many GPU jobs run at once but does not say which GPU each should use.
    """
    directory = Path(lock_dir)
    directory.mkdir(parents=True, exist_ok=True)
    for slot in range(slots):
        handle = open(directory / f"gpu-{slot}.lock", "w")  # noqa: SIM115 - held open on purpose
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _CLAIMED.append(handle)
        return slot
    return None


def resolve_device(spec: str = "auto", lock_dir: str | Path | None = None) -> torch.device:
    """Turn the config's `device` value ('auto', 'cpu', 'cuda', 'cuda:N') into a torch.device.

    'auto' picks CUDA when present. When several GPUs are visible (a multi-GPU box; on SLURM each job
    sees only its own GPU) and `lock_dir` is given, each job claims a different GPU through lock files,
    so concurrent jobs do not all land on GPU 0.
    A forced CUDA device on a machine without one is an error rather than a silent CPU fallback,
    because a paper-scale run on the wrong device would take days instead of hours.
    """
    if spec == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        count = torch.cuda.device_count()
        if count > 1 and lock_dir is not None:
            slot = claim_slot(lock_dir, count)
            return torch.device(f"cuda:{slot if slot is not None else 0}")
        return torch.device("cuda")
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            f"device '{spec}' was requested but torch.cuda.is_available() is False; "
            "set `device: auto` or `device: cpu` in the config (or --config device=cpu)"
        )
    try:
        return torch.device(spec)
    except RuntimeError as err:
        raise ValueError(f"unknown device '{spec}': use auto, cpu, cuda or cuda:N") from err


def describe_device(device: torch.device) -> str:
    """Human-readable device name for run metadata (GPU model, or 'cpu')."""
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return "cpu"
