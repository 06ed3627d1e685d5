"""Run metadata: everything needed to tell later where a number came from."""

from __future__ import annotations

import hashlib
import json
import platform
import socket
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "torchvision", "numpy", "pandas", "snakemake", "labelrepro")


def config_hash(config: dict[str, Any]) -> str:
    """A short content hash of a resolved run config (key order does not matter)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def git_commit(cwd: str | Path | None = None) -> str:
    """The checkout's commit, with '-dirty' when tracked files differ; 'unknown' outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_metadata(
    *, config: dict[str, Any], seed: int, device: str, wall_time_s: float, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The metadata record written next to every run's metrics CSV."""
    record: dict[str, Any] = {
        "config": config,
        "config_hash": config_hash(config),
        "seed": seed,
        "device": device,
        "wall_time_s": round(wall_time_s, 3),
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "versions": package_versions(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if extra:
        record.update(extra)
    return record
