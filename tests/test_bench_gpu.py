"""benchmarks/bench_gpu.py (`make bench-gpu`) and the measured cost column of `python -m labelrepro targets`.

The benchmark runs on the CPU here (no CUDA is made visible), so these tests check its behaviour and its
CSV, never the numbers.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from labelrepro.cli import cmd_targets
from labelrepro.experiment import Plan, load_experiments

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "bench_gpu.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # no GPU, wherever the tests run
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=REPO)


@pytest.fixture(scope="module")
def bench_gpu():
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_gpu"] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("bench_gpu", None)


def test_without_cuda_it_says_so_and_exits_2(tmp_path):
    result = _run("--out", str(tmp_path / "costs.csv"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no CUDA device" in result.stderr
    assert not (tmp_path / "costs.csv").exists()


def test_configurations_group_runs_of_equal_cost(bench_gpu):
    experiments = load_experiments()
    targets = bench_gpu.cifar_targets(experiments)
    assert {"fig1b", "fig3a", "alasca_table3", "alasca_table4", "fig2", "limit_table6"} <= set(targets)
    assert not {"relax_table", "sparsity_fig1"} & set(targets)
    configs = bench_gpu.build_configs([])
    per_target: dict[str, list] = {}
    for config in configs.values():
        for target, use in config.uses.items():
            per_target.setdefault(target, []).append(use)
    # every training of a target is counted once, in exactly one configuration: its cells' runs and the
    # runs they start from (LIMIT's "+ init." CE classifier, FW/DMI's CE start), which need not be cells
    plan = Plan(experiments)

    def with_inputs(run, runs: dict) -> dict:
        for _role, other in run.inputs:
            with_inputs(plan.run("paper", other), runs)
        runs[run.id] = run
        return runs

    for target in targets:
        runs: dict = {}
        for cell in experiments[target].cells("paper").values():
            with_inputs(cell.run, runs)
        assert sum(use["runs"] for use in per_target[target]) == sum(len(r.seeds) for r in runs.values())
    assert len(per_target["fig3a"]) == len(experiments["fig3a"].cells("paper"))  # copy depths differ
    assert len(per_target["fig1b"]) == 1
    # ALASCA: noise models and seeds share a configuration, methods and AC types do not
    labels3 = [use["label"] for use in per_target["alasca_table3"]]
    assert len(labels3) == len(set(labels3)) == 9 and not any("noise" in label for label in labels3)
    assert "method=alasca ac_type=mlp ac_positions=third" in labels3
    shared = [c for c in configs.values() if set(c.uses) == {"alasca_table3", "alasca_table4"}]
    assert len(shared) == 1  # ALASCA* (bottleneck ACs after all blocks) is one configuration


def test_allow_cpu_writes_the_csv(tmp_path):
    out = tmp_path / "gpu_costs.csv"
    result = _run("--allow-cpu", "--targets", "fig1b", "--steps", "1", "--warmup", "0",
                  "--train-images", "256", "--test-images", "64", "--no-loader", "--threads", "2",
                  "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    frame = pd.read_csv(out)
    for column in ("target", "config", "batch_size", "steps_timed", "s_per_step", "min_per_epoch", "epochs",
                   "runs", "target_device_hours", "device", "torch", "date"):
        assert column in frame.columns
    (row,) = frame.to_dict("records")
    assert row["target"] == "fig1b" and row["status"] == "ok" and row["device"] == "cpu"
    assert row["batch_size"] == 256 and row["steps_timed"] == 1 and row["epochs"] == 200
    assert row["s_per_step"] > 0 and row["min_per_epoch"] > 0 and row["target_device_hours"] > 0
    assert "summary" in result.stdout


def _targets_output(capsys, path: Path) -> str:
    cmd_targets(argparse.Namespace(gpu_costs=str(path)))
    return capsys.readouterr().out


def test_targets_use_the_measured_costs_when_present(tmp_path, capsys):
    experiments = load_experiments()
    without = _targets_output(capsys, tmp_path / "absent.csv")
    for exp in experiments.values():
        assert exp.cost["paper_cost"] in without
    stamp = {"device": "NVIDIA Test GPU", "device_type": "cuda", "torch": "2.x",
             "date": "2031-01-02T03:04:05Z"}
    rows = [
        {"target": "fig3a", "config": "copy_depth=1", "min_per_epoch": 0.5, "epochs": 200, "runs": 1,
         "target_device_hours": 3.3, "status": "ok", **stamp},
        {"target": "fig3a", "config": "copy_depth=16", "min_per_epoch": 1.5, "epochs": 200, "runs": 1,
         "target_device_hours": 3.3, "status": "ok", **stamp},
        {"target": "fig1b", "config": "default", "status": "skipped (budget)", "runs": 1, **stamp},
        {"target": "loader", "config": "device-resident", "images_per_s": 1e4, "status": "ok", **stamp},
    ]
    path = tmp_path / "gpu_costs.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    with_csv = _targets_output(capsys, path)
    (line,) = [line for line in with_csv.splitlines() if line.startswith("| `fig3a`")]
    assert "measured on NVIDIA Test GPU: 3.3 GPU-h (0.5-1.5 min/epoch, 2 runs x 200 epochs" in line
    assert experiments["fig3a"].cost["paper_cost"] not in line
    assert experiments["fig1b"].cost["paper_cost"] in with_csv  # not measured completely: unchanged
    assert with_csv.count("\n") == without.count("\n")
