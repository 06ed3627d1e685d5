"""Seed 004's CIFAR run: the Keras-style shift/flip augmentation by hand, and one tiny run end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from labelrepro.data.fake import write_fake_cifar
from labelrepro.engine import loop
from labelrepro.engine.job import Job
from labelrepro.engine.runtime import Runtime
from labelrepro.papers.relaxation.cifar import shift_flip


def test_shift_flip_by_hand():
    x = torch.arange(2 * 2 * 5 * 5, dtype=torch.float32).view(2, 2, 5, 5)
    out = shift_flip(x, 2, torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)  # the same draws, in the same order
    flip = torch.rand(2, generator=gen) < 0.5
    dy, dx = torch.randint(-2, 3, (2,), generator=gen), torch.randint(-2, 3, (2,), generator=gen)
    for n in range(2):
        src = x[n].flip(-1) if flip[n] else x[n]
        for i in range(5):
            for j in range(5):
                # output pixel (i, j) shows input pixel (i - dy, j - dx), clamped to the border (nearest)
                si, sj = min(max(i - int(dy[n]), 0), 4), min(max(j - int(dx[n]), 0), 4)
                assert torch.equal(out[n, :, i, j], src[:, si, sj])
    assert torch.equal(shift_flip(x, 0, torch.Generator().manual_seed(0)).abs().sum(), x.abs().sum())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cifar")
    write_fake_cifar(root, "cifar10", 64, 32, seed=0)
    return root


def test_cifar_run_writes_rows_with_bins(tmp_path: Path, data_dir: Path):
    settings = {"dataset": "cifar10", "model": "vgg16_bn_dropout", "phase": "final", "epochs": 1, "lr": 0.01,
                "batch_size": 32, "methods": ["ce", "lr"], "strengths": [0.1], "augment": True,
                "test_fraction": 1 / 6, "weight_decay": 0.001, "milestones": []}
    spec = {"trainer": "relax", "scale": "smoke", "settings": settings, "seeds": [0], "inputs": {}}
    runtime = Runtime(device="cpu", data_dir=str(data_dir), download=False, verify_data=False,
                      checkpoint_dir=str(tmp_path / "ckpt"), checkpoint_every_s=0.0, progress="none")
    loop.train(Job(spec=spec, runtime=runtime, out_dir=tmp_path / "out"))
    rows = pd.read_csv(tmp_path / "out/seed-0/metrics.csv")
    assert rows["method"].tolist() == ["ce", "lr"] and (rows["strength"] == [0.0, 0.1]).all()
    assert rows[["acc", "ece"]].stack().between(0, 1).all() and (rows["eval_split"] == "test").all()
    counts = rows[[f"rel_count_{b}" for b in range(15)]].sum(axis=1)
    assert (counts == 16).all()  # 96 merged images, test part 1/6
