"""Where a target's numbers came from: the commits, config hashes, devices and data of its runs.

Read from every run's `meta.json` (core/metadata.py), written to `results/<target>/<scale>/provenance.json`,
and used by the paper's captions and the report: a reader of a figure sees which code and settings made it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labelrepro.core import atomic

DATA_KINDS = ("standin", "real", "synthetic")


def collect(manifest: list[dict[str, Any]]) -> dict[str, Any]:
    """Commits, config hashes, devices and run count over the run folders of a target's manifest."""
    commits: set[str] = set()
    hashes: set[str] = set()
    devices: set[str] = set()
    runs = 0
    for run_dir in dict.fromkeys(entry["run"] for entry in manifest):
        for meta_path in sorted(Path(run_dir).glob("seed-*/meta.json")):
            meta = json.loads(meta_path.read_text())
            commits.add(str(meta.get("git_commit", "unknown")))
            hashes.add(str(meta.get("config_hash", "unknown")))
            devices.add(str(meta.get("device", "unknown")))
            runs += 1
    return {"commits": sorted(commits), "config_hashes": sorted(hashes), "devices": sorted(devices),
            "seed_runs": runs}


def target_provenance(target: str, scale: str, data: str, manifest: list[dict[str, Any]], out: Path) -> None:
    if data not in DATA_KINDS:
        raise ValueError(f"data must be one of {', '.join(DATA_KINDS)}, got {data!r}")
    record = {"target": target, "scale": scale, "data": data, **collect(manifest)}
    atomic.write_json(out, record)


def caption_line(record: dict[str, Any]) -> str:
    """One plain-text line: scale, data, commit(s) and config hash(es) (abbreviated when many)."""
    data = {"standin": "synthetic stand-in data", "real": "the real dataset",
            "synthetic": "the paper's synthetic data"}[record["data"]]
    commits = [c[:10] + ("-dirty" if c.endswith("-dirty") else "") for c in record["commits"]]
    hashes = record["config_hashes"]
    shown = ", ".join(hashes[:3]) + (f" and {len(hashes) - 3} more" if len(hashes) > 3 else "")
    return (f"scale {record['scale']}, {data}; {record['seed_runs']} runs; commit "
            f"{', '.join(commits) or 'unknown'}; config hash {shown or 'unknown'}")
