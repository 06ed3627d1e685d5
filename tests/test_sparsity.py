"""The batched seed-003 trainer: gradients, equivalence with a per-run loop, checkpoint/resume."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch

from labelrepro.engine.job import Job
from labelrepro.engine.loop import train
from labelrepro.engine.runtime import Runtime
from labelrepro.papers.sparsity import stopping
from labelrepro.papers.sparsity import trainer as sparsity
from labelrepro.papers.sparsity.batched_mlp import BatchedReluNet, init_bound

SETTINGS = {
    "d": 5,
    "hidden": 8,
    "n_train": 12,
    "n_test": 64,
    "eps": 0.3,
    "lr": 0.2,
    "steps": 300,
    "eval_every": 60,
    "label_noise": 0.3,
}


def make_job(tmp_path, seeds=(0, 1, 2), **runtime) -> Job:
    spec = {"trainer": "sparsity", "scale": "smoke", "settings": SETTINGS, "seeds": list(seeds), "inputs": {}}
    options = {"device": "cpu", "checkpoint_dir": str(tmp_path / "ckpt"), "progress": "none", **runtime}
    return Job(spec=spec, runtime=Runtime(**options), out_dir=tmp_path / "out")


def test_init_bounds():
    assert init_bound("unit", 60) == math.sqrt(3)
    assert init_bound("fan_in", 3) == 1.0
    with pytest.raises(ValueError, match="init_scale"):
        init_bound("he", 3)


def test_initialise_respects_bounds_and_bias_flag():
    gens = [torch.Generator().manual_seed(s) for s in range(2)]
    net = BatchedReluNet.initialise(gens, d=4, hidden=6, bias=False)
    assert net.w1.shape == (2, 6, 4) and net.w2.shape == (2, 6) and net.b2.shape == (2,)
    assert net.w1.abs().max() <= math.sqrt(3) and net.b1.abs().sum() == 0 and net.b2.abs().sum() == 0


def test_manual_sgd_step_equals_autograd():
    torch.manual_seed(0)
    r, h, d, lr = 3, 7, 4, 0.1
    w1, b1, w2, b2 = torch.randn(r, h, d), torch.randn(r, h), torch.randn(r, h), torch.randn(r)
    x, y = torch.randn(r, d), torch.tensor([1.0, -1.0, 1.0])
    params = [p.clone().requires_grad_(True) for p in (w1, b1, w2, b2)]
    z = torch.einsum("rhd,rd->rh", params[0], x) + params[1]
    out = (torch.relu(z) * params[2]).sum(-1) + params[3]
    torch.nn.functional.softplus(-y * out).sum().backward()  # runs are independent: sum of losses
    expected = [p.detach() - lr * p.grad for p in params]
    net = BatchedReluNet(w1.clone(), b1.clone(), w2.clone(), b2.clone(), bias=True)
    net.sgd_step_logistic(x, y, lr)
    for got, want in zip((net.w1, net.b1, net.w2, net.b2), expected, strict=True):
        assert torch.allclose(got, want, atol=1e-6)


def test_batched_trainer_matches_plain_per_run_loop(tmp_path):
    job = make_job(tmp_path)
    train(job)
    settings = sparsity.Settings(**SETTINGS)
    for seed in (0, 2):
        final = pd.read_csv(tmp_path / "out" / f"seed-{seed}" / "metrics.csv").iloc[-1]
        reference = sparsity.reference_run(settings, seed)
        assert final["step"] == SETTINGS["steps"]
        for key in ("train_loss", "w1_norm", "w2_norm", "active_train", "test_error"):
            assert final[key] == pytest.approx(reference[key], rel=1e-4, abs=1e-5), key


def test_a_run_does_not_depend_on_its_batch(tmp_path):
    train(make_job(tmp_path / "a", seeds=(0, 1, 2)))
    train(make_job(tmp_path / "b", seeds=(1,)))
    batched = pd.read_csv(tmp_path / "a" / "out" / "seed-1" / "metrics.csv")
    alone = pd.read_csv(tmp_path / "b" / "out" / "seed-1" / "metrics.csv")
    pd.testing.assert_frame_equal(batched, alone, rtol=1e-5)


def test_outputs_and_metadata(tmp_path):
    job = make_job(tmp_path)
    train(job)
    frame = pd.read_csv(tmp_path / "out" / "seed-0" / "metrics.csv")
    assert frame["step"].tolist() == [0, 60, 120, 180, 240, 300]
    assert frame["test_error"].between(0, 1).all()
    assert frame["active_train"].between(0, SETTINGS["hidden"]).all()
    meta = json.loads((tmp_path / "out" / "seed-0" / "meta.json").read_text())
    for key in ("config", "config_hash", "seed", "git_commit", "versions", "device", "wall_time_s"):
        assert key in meta
    assert meta["config"]["settings"]["d"] == 5 and meta["seed"] == 0 and meta["device"] == "cpu"
    assert meta["versions"]["torch"].startswith("2.") and meta["runs_batched"] == 3
    assert not (tmp_path / "ckpt").exists() or not any((tmp_path / "ckpt").rglob("*.pt"))


class KilledError(Exception):
    pass


def test_interrupted_run_resumes_to_identical_results(tmp_path, monkeypatch):
    uninterrupted = make_job(tmp_path / "full")
    train(uninterrupted)

    job = make_job(tmp_path / "resumed", checkpoint_every_s=0.0)
    real_evaluate = sparsity.evaluate
    calls = {"n": 0}

    def evaluate_then_die(model, data):
        calls["n"] += 1
        if calls["n"] == 4:  # initial eval + 2 periods done and checkpointed, die in the 3rd period
            raise KilledError
        return real_evaluate(model, data)

    monkeypatch.setattr(sparsity, "evaluate", evaluate_then_die)
    with pytest.raises(KilledError):
        train(job)
    checkpoints = list((tmp_path / "resumed" / "ckpt").rglob("*.pt"))
    assert len(checkpoints) == 1
    saved = torch.load(checkpoints[0], weights_only=True)["current"]
    assert saved["group"] == 0 and saved["state"]["position"] == 2  # periods done: steps 60 and 120
    assert not job.out_dir.exists()  # nothing half-written

    monkeypatch.setattr(sparsity, "evaluate", real_evaluate)
    train(make_job(tmp_path / "resumed", checkpoint_every_s=0.0))
    for seed in (0, 1, 2):
        full = pd.read_csv(tmp_path / "full" / "out" / f"seed-{seed}" / "metrics.csv")
        resumed = pd.read_csv(tmp_path / "resumed" / "out" / f"seed-{seed}" / "metrics.csv")
        pd.testing.assert_frame_equal(full, resumed)
    assert not list((tmp_path / "resumed" / "ckpt").rglob("*.pt"))


def test_settings_reject_bad_values():
    with pytest.raises(ValueError, match="label_noise"):
        sparsity.Settings(**{**SETTINGS, "label_noise": 1.5})


def test_last_period_is_shorter(tmp_path):
    settings = {**SETTINGS, "steps": 130}
    spec = {"trainer": "sparsity", "scale": "smoke", "settings": settings, "seeds": [4], "inputs": {}}
    runtime = Runtime(device="cpu", checkpoint_dir=str(tmp_path / "ckpt"), progress="none")
    job = Job(spec=spec, runtime=runtime, out_dir=tmp_path / "out")
    run = sparsity.RUN(job, job.seeds)
    assert run.total == 3 and run.unit == "period" and run.batch_seeds
    train(job)
    final = pd.read_csv(tmp_path / "out" / "seed-4" / "metrics.csv")
    assert final["step"].tolist() == [0, 60, 120, 130]
    reference = sparsity.reference_run(sparsity.Settings(**settings), 4)
    assert final.iloc[-1]["train_loss"] == pytest.approx(reference["train_loss"], rel=1e-4, abs=1e-5)


def test_rows_record_each_runs_stopping_step_without_changing_training(tmp_path):
    # stop_window = 1, stop_tolerance = 0.5: stop at the first evaluation with zero clean training error
    # at least one period after the first one. Seeds 0 and 1 reach it at step 300, seed 2 never does.
    rule = {"stop_window": 1, "stop_tolerance": 0.5}
    spec = {"trainer": "sparsity", "scale": "smoke", "settings": {**SETTINGS, **rule}, "seeds": [0, 1, 2],
            "inputs": {}}
    runtime = Runtime(device="cpu", checkpoint_dir=str(tmp_path / "ckpt"), progress="none")
    train(Job(spec=spec, runtime=runtime, out_dir=tmp_path / "rule"))
    train(make_job(tmp_path))  # default rule
    stops = {}
    for seed in (0, 1, 2):
        frame = pd.read_csv(tmp_path / "rule" / f"seed-{seed}" / "metrics.csv")
        index = stopping.stopping_index(frame["train_error"].tolist(), frame["test_error"].tolist(), 1, 0.5)
        stop = frame["stop_step"].iloc[0]
        stops[seed] = None if pd.isna(stop) else int(stop)
        assert frame["stop_step"].nunique(dropna=False) == 1
        assert stops[seed] == (None if index is None else frame["step"].iloc[index])
        expected = [stops[seed] is not None and step >= stops[seed] for step in frame["step"]]
        assert frame["stopped"].tolist() == expected
        assert frame["step"].iloc[-1] == SETTINGS["steps"]  # every run trains to the end
        default = pd.read_csv(tmp_path / "out" / f"seed-{seed}" / "metrics.csv")
        metric_columns = [c for c in frame if c not in ("stop_step", "stopped")]
        pd.testing.assert_frame_equal(frame[metric_columns], default[metric_columns])
    assert stops == {0: 300, 1: 300, 2: None}
