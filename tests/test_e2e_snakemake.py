"""End-to-end: real Snakemake on a temporary working copy of the workflow, at smoke scale."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.e2e_helpers import ENV, SNAKEMAKE, make_working_copy, run_dir, snakemake

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    workdir = make_working_copy(tmp_path_factory.mktemp("e2e") / "artifact")
    result = snakemake(workdir, "--cores", "2", "figures/sparsity_fig1.pdf")
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir


def test_figure_and_csvs_exist_and_are_sane(built):
    pdf = built / "figures/sparsity_fig1.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
    final = pd.read_csv(built / "results/sparsity_fig1/smoke/aggregate.csv")
    curves = pd.read_csv(built / "results/sparsity_fig1/smoke/curves.csv")
    assert len(final) == 8 and sorted(final["label_noise"].unique()) == [0.0, 0.2]
    # every run trains to the end; the aggregate reports it at its stopping step (or at the end, flagged)
    assert final["last_step"].eq(40000).all()
    met = final["stop_met"].astype(bool)
    assert final.loc[met, "step"].eq(final.loc[met, "stop_step"]).all() and final["step"].le(40000).all()
    assert final.loc[~met, "step"].eq(40000).all() and final.loc[~met, "stop_step"].isna().all()
    assert final.loc[met, "train_error"].eq(0).all()
    assert met[final["label_noise"] == 0.0].all()  # the noise-free nets fit the data and stay put
    assert final["test_error"].between(0, 1).all() and final["train_error"].between(0, 1).all()
    assert final["active_train"].between(0, 80).all()
    assert curves.groupby(["label_noise", "seed"]).size().eq(51).all()  # step 0 + 50 periods
    by_noise = final.groupby("label_noise").mean(numeric_only=True)
    # the paper's qualitative claim, already visible at smoke scale
    assert by_noise.loc[0.2, "active_train"] < by_noise.loc[0.0, "active_train"]
    assert by_noise.loc[0.2, "test_error"] < by_noise.loc[0.0, "test_error"]
    assert by_noise.loc[0.0, "train_error"] == 0.0
    meta = (run_dir(built, "sparsity_fig1", "label_noise-0.2") / "seed-3/meta.json").read_text()
    assert '"config_hash"' in meta and '"git_commit"' in meta and '"seed": 3' in meta


def test_second_run_has_nothing_to_do(built):
    result = snakemake(built, "--cores", "2", "figures/sparsity_fig1.pdf")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr
    # run-time options change how a job runs, not its result: no re-training
    result = snakemake(built, "-n", "figures/sparsity_fig1.pdf", "--config", "progress=lines",
                       "checkpoint_every_s=5", "torch_threads=2", "device=cpu")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_changed_setting_retrains_only_its_target(built):
    experiment = built / "workflow/experiments/sparsity/sparsity_fig1.yaml"
    original = experiment.read_text()
    try:
        experiment.write_text(original.replace("n_test: 1000", "n_test: 999"))
        result = snakemake(built, "-n", "figures/sparsity_fig1.pdf")
        out = result.stdout + result.stderr
        # a changed setting is a different run (its folder is keyed by the resolved settings)
        assert result.returncode == 0 and "sparsity_train        2" in out and "Missing output files" in out
    finally:
        experiment.write_text(original)


def test_paper_scale_dry_run_lists_the_paper_jobs(built):
    result = snakemake(built, "-n", "figures/sparsity_fig1.pdf", "--config", "scale=paper")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert str(run_dir(built, "sparsity_fig1", "label_noise-0.2", "paper").relative_to(built)) in out
    assert "sparsity_train        2" in out


def test_unknown_config_key_fails_before_any_job(built):
    result = snakemake(built, "-n", "--config", "scal=paper")
    assert result.returncode != 0
    assert "'scal' was unexpected" in result.stdout + result.stderr


def test_bad_config_value_names_the_key(built):
    result = snakemake(built, "-n", "--config", "device=tpu")
    assert result.returncode != 0
    assert "device" in result.stdout + result.stderr


def _training_pids(workdir: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode().split("\0")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if argv[1:4] == ["-m", "labelrepro", "train"] and Path(cwd) == workdir:
            pids.append(int(proc.name))
    return pids


def test_killed_training_job_resumes_from_checkpoint(tmp_path):
    workdir = make_working_copy(tmp_path / "artifact")
    experiment = workdir / "workflow/experiments/sparsity/sparsity_fig1.yaml"
    raw = yaml.safe_load(experiment.read_text())
    raw["scales"]["smoke"]["settings"].update(steps=400_000, eval_every=2000)  # long enough to kill
    experiment.write_text(yaml.safe_dump(raw))
    run = run_dir(workdir, "sparsity_fig1", "label_noise-0.2")
    target = str(run.relative_to(workdir))
    args = ["--cores", "1", target, "--config", "checkpoint_every_s=0", "progress=lines"]

    first = subprocess.Popen([SNAKEMAKE, *args], cwd=workdir, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True, env=ENV)
    checkpoint_dir = workdir / ".checkpoints/sparsity/smoke" / run.name
    try:
        deadline = time.monotonic() + 120
        while not list(checkpoint_dir.glob("[!.]*.pt")) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        pids = _training_pids(workdir)
        assert pids, "training process not found"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        output, _ = first.communicate(timeout=120)
    finally:
        if first.poll() is None:  # never leave a Snakemake behind when an assertion fails
            os.killpg(first.pid, signal.SIGKILL)
    assert first.returncode != 0, output[-2000:]
    assert not (workdir / target).exists()  # no half-written output
    assert list(checkpoint_dir.glob("[!.]*.pt"))

    second = snakemake(workdir, *args, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    log = (workdir / "logs/runs/smoke/sparsity" / f"{run.name}.log").read_text()
    assert "resumed from checkpoint at period" in log
    resumed_at = int(log.split("resumed from checkpoint at period ")[1].split()[0])
    assert 0 < resumed_at < 200  # periods of 2000 steps
    metrics = pd.read_csv(workdir / target / "seed-0/metrics.csv")
    assert metrics["step"].iloc[-1] == 400_000 and metrics["step"].is_monotonic_increasing
    assert not list(checkpoint_dir.glob("[!.]*.pt"))  # cleared after a successful finish
