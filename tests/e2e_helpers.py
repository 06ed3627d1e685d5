"""Helpers of the end-to-end tests: a temporary working copy of the workflow and real Snakemake runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
# Jobs call `python -m labelrepro`, so the interpreter running the tests must be first on PATH.
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
COPY = ["Snakefile", "workflow", "src", "environment.yml", "pyproject.toml",
        "paper/reported", "paper/main.tex"]


def make_working_copy(dest: Path) -> Path:
    """Copy what a user's checkout needs to run the workflow (no results, no .snakemake) into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    (dest / "profiles").symlink_to("workflow/profiles")
    return dest


def run_dir(workdir: Path, target: str, cell: str, scale: str = "smoke") -> Path:
    """The folder of the run that `cell` of `target` reads (results/runs/<scale>/<trainer>/<run id>)."""
    from labelrepro.experiment import load_experiments

    experiments = load_experiments(workdir / "workflow" / "experiments")
    return workdir / experiments[target].cells(scale)[cell].run.dir


def snakemake(workdir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the venv's snakemake in `workdir` the way a user would, capturing its output."""
    return subprocess.run(
        [SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True, timeout=timeout, check=False, env=ENV
    )


def build_at(parent: Path, *targets: str) -> Path:
    """A fresh working copy under `parent` in which real Snakemake built `targets` on 2 cores."""
    workdir = make_working_copy(parent / "artifact")
    result = snakemake(workdir, "--cores", "2", *targets)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return workdir


def build(tmp_path_factory, name: str, *targets: str) -> Path:
    """`build_at` in a new temporary folder `name` (a module fixture)."""
    return build_at(tmp_path_factory.mktemp(name), *targets)
