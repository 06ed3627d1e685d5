"""Device selection: CUDA when present, CPU otherwise, or what the config forces."""

from __future__ import annotations

import torch


def resolve_device(spec: str = "auto") -> torch.device:
    """Turn the config's `device` value ('auto', 'cpu', 'cuda', 'cuda:N') into a torch.device.

    A forced CUDA device on a machine without one is an error rather than a silent CPU fallback,
    because a paper-scale run on the wrong device would take days instead of hours.
    """
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
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
