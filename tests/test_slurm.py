"""The SLURM profile against a real single-node SLURM cluster (tests/slurm/run_slurm_test.sh).

The script installs slurm-wlm and munge when missing, starts its own slurmctld/slurmd, runs the
smoke-scale sparsity_fig1 target through `--profile profiles/slurm` (checking grouping and the SLURM
job logs), cancels a running SLURM job and checks that Snakemake's retry completes the target.
It needs root; elsewhere the test is skipped with the reason. Deselect it with `-m "not slurm"`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "slurm" / "run_slurm_test.sh"
TIMEOUT_S = 1200
SLURM_PROGRAMS = ("slurmctld", "slurmd", "sbatch", "squeue", "munged")
SBIN = os.pathsep.join(("/usr/local/sbin", "/usr/sbin", "/sbin"))


def _which(program: str) -> str | None:
    return shutil.which(program) or shutil.which(program, path=SBIN)


def _skip_reason() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return (
            "needs root (installs slurm-wlm/munge, starts slurmctld and slurmd); "
            "run `sudo tests/slurm/run_slurm_test.sh` to test the SLURM profile"
        )
    if shutil.which("bash") is None:
        return "needs bash"
    if not all(_which(p) for p in SLURM_PROGRAMS) and shutil.which("apt-get") is None:
        return "SLURM is not installed and there is no apt-get to install slurm-wlm and munge"
    pgrep = shutil.which("pgrep")
    if pgrep and any(
        subprocess.run([pgrep, "-x", daemon], capture_output=True).returncode == 0
        for daemon in ("slurmctld", "slurmd")
    ):
        return "a slurmctld/slurmd already runs on this machine; the test sets up its own cluster"
    return None


def _snakemake(repo_root: Path) -> Path:
    beside = Path(sys.executable).parent / "snakemake"
    return beside if beside.exists() else repo_root / ".venv" / "bin" / "snakemake"


@pytest.mark.slurm
def test_slurm_profile_on_a_real_cluster(repo_root: Path) -> None:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    snakemake = _snakemake(repo_root)
    if not snakemake.exists():
        pytest.skip(f"no snakemake at {snakemake}")
    proc = subprocess.Popen(
        ["bash", str(SCRIPT), str(snakemake)],
        cwd=repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so that a timeout can stop all of it
    )
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # SIGTERM lets the script's trap cancel jobs, stop the daemons and remove its temp dir.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        pytest.fail(f"run_slurm_test.sh did not finish within {TIMEOUT_S}s:\n{out[-12000:]}")
    print(out)
    assert proc.returncode == 0, f"run_slurm_test.sh failed ({proc.returncode}):\n{out[-12000:]}"
    assert "PASSED" in out
