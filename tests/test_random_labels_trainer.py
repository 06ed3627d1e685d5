"""The seed-000 trainer on tiny fake CIFAR-100 files read through torchvision."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch

from labelrepro.core.config import ConfigError, settings_from_dict
from labelrepro.data.fake import write_fake_cifar
from labelrepro.engine import image as supervised
from labelrepro.engine import optim
from labelrepro.engine.job import Job
from labelrepro.engine.loop import train
from labelrepro.engine.runtime import Runtime
from labelrepro.engine.settings import OptimSettings
from labelrepro.papers.random_labels import trainer as random_labels
from labelrepro.papers.random_labels.heads import draw_random_labels

BASE = {
    "model": "wrn16_4",
    "num_random_labels": 4,
    "train_subset": 48,
    "test_subset": 32,
    "epochs": 2,
    "batch_size": 16,
    "lr": 0.05,
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_fake_cifar(root, "cifar100", 200, 100, seed=0)
    return root


def make_job(tmp_path, data_dir, **settings) -> Job:
    spec = {
        "trainer": "random_labels",
        "scale": "smoke",
        "settings": {**BASE, **settings},
        "seeds": [3],
        "inputs": {},
    }
    runtime = Runtime(device="cpu", data_dir=str(data_dir), download=False, verify_data=False,
                      checkpoint_dir=str(tmp_path / "ckpt"), checkpoint_every_s=0.0, progress="none")
    return Job(spec=spec, runtime=runtime, out_dir=tmp_path / "out")


def test_run_writes_metrics_and_its_random_labels(tmp_path, data_dir):
    train(make_job(tmp_path, data_dir))
    metrics = pd.read_csv(tmp_path / "out/seed-3/metrics.csv")
    assert metrics["epoch"].tolist() == [1, 2]
    for column in ("train_acc", "test_acc", "rnd_acc", "train_acc_noisy"):
        assert metrics[column].between(0, 1).all(), column
    assert (metrics["loss_reg"] > 0).all() and (metrics["lr"].iloc[-1] == 0.0)  # cosine ends at 0
    saved = pd.read_csv(tmp_path / "out/seed-3/random_labels.csv")
    assert saved["index"].tolist() == list(range(48))
    assert saved["random_label"].tolist() == draw_random_labels(48, 4, 3).tolist()
    meta = json.loads((tmp_path / "out/seed-3/meta.json").read_text())
    assert (meta["train_size"], meta["test_size"]) == (48, 32)


def test_resumed_run_matches_uninterrupted(tmp_path, data_dir, monkeypatch):
    train(make_job(tmp_path / "full", data_dir))
    real = random_labels.evaluate
    calls = {"n": 0}

    def evaluate_then_die(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(random_labels, "evaluate", evaluate_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(make_job(tmp_path / "resumed", data_dir))
    assert not (tmp_path / "resumed/out").exists()
    monkeypatch.setattr(random_labels, "evaluate", real)
    train(make_job(tmp_path / "resumed", data_dir))
    full = pd.read_csv(tmp_path / "full/out/seed-3/metrics.csv")
    resumed = pd.read_csv(tmp_path / "resumed/out/seed-3/metrics.csv")
    pd.testing.assert_frame_equal(full, resumed)


def test_vgg_copy_depth_and_regulariser_run(tmp_path, data_dir):
    train(make_job(tmp_path, data_dir, model="vgg16", copy_depth=3, width_multiplier=2.0, lam=0.5,
                   epochs=1))
    metrics = pd.read_csv(tmp_path / "out/seed-3/metrics.csv")
    assert math.isfinite(metrics["loss"].iloc[0])


def test_vgg_routed_per_class_tails_train_and_evaluate(tmp_path, data_dir):
    """fig3a's tails: N per-class copies, each sample through its class's copy (per-head softmax). d = 2
    keeps the 100 copies small (26.5 M parameters); routing through BN copies is tested in
    test_random_labels_tails.py on 3 classes."""
    train(make_job(tmp_path, data_dir, model="vgg16", copy_depth=2, tail_mode="per_class_routed",
                   normalization="group", epochs=1, warmup_epochs=1.0))
    metrics = pd.read_csv(tmp_path / "out/seed-3/metrics.csv")
    assert math.isfinite(metrics["loss"].iloc[0]) and metrics["rnd_acc"].between(0, 1).all()


def test_settings_validation():
    with pytest.raises(ConfigError, match=r"copy_depth must lie in 1\.\.16"):
        settings_from_dict(random_labels.Settings, {**BASE, "model": "vgg16", "copy_depth": 17}, "x")
    with pytest.raises(ConfigError, match="copy_depth is for vgg16 only"):
        settings_from_dict(random_labels.Settings, {**BASE, "copy_depth": 2}, "x")
    with pytest.raises(ConfigError, match="unknown setting 'lamda'"):
        settings_from_dict(random_labels.Settings, {**BASE, "lamda": 1.0}, "x")
    with pytest.raises(ConfigError, match="warmup_epochs must be >= 0"):
        settings_from_dict(random_labels.Settings, {**BASE, "warmup_epochs": -1.0}, "x")


def test_lr_schedule_values():
    s = OptimSettings(epochs=10, batch_size=1, lr=1.0, warmup_epochs=1.0)
    assert optim.lr_factor(s, 0, 10) == pytest.approx(0.1)  # linear warm-up over 10 steps
    assert optim.lr_factor(s, 9, 10) == pytest.approx(1.0)
    assert optim.lr_factor(s, 10, 10) == pytest.approx(1.0)  # cosine starts at 1 ...
    assert optim.lr_factor(s, 55, 10) == pytest.approx(0.5)  # ... is 1/2 half-way ...
    assert optim.lr_factor(s, 100, 10) == pytest.approx(0.0)  # ... and 0 at the end
    steps = OptimSettings(epochs=10, batch_size=1, lr=1.0, schedule="multistep", milestones=(3, 6),
                          gamma=0.1)
    assert [optim.lr_factor(steps, e * 10, 10) for e in (0, 3, 6)] == pytest.approx([1, 0.1, 0.01])


def test_subset_is_fixed_and_depends_on_the_split_only():
    a = supervised._subset(1000, 10, what="cifar100-train")
    b = supervised._subset(1000, 10, what="cifar100-train")
    assert torch.equal(a, b) and len(a.unique()) == 10
    assert not torch.equal(a, supervised._subset(1000, 10, what="cifar100-test"))
    assert supervised._subset(1000, 0, what="x") is None
