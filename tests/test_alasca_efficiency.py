"""ALASCA trainer, Table 3's efficiency columns: no host synchronisation inside the timed training loop
(logs are summed on the device), one precision for every method (recorded), HAR's fit-half batches."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from labelrepro.core.efficiency import EfficiencyMeter
from labelrepro.data.fake import write_fake_cifar
from labelrepro.data.vision import DeviceDataset
from labelrepro.engine import loop
from labelrepro.engine.job import Job
from labelrepro.engine.runtime import Runtime
from labelrepro.papers.alasca import trainer

SETTINGS = {"epochs": 1, "batch_size": 16, "lr": 0.05, "base_width": 2, "eval_batch_size": 32,
            "schedule": "cosine", "augment": {"crop_padding": 4, "hflip": True},
            "label_noise": {"model": "symmetric", "rate": 0.5, "allow_true_class": True},
            "har_stage1_epochs": 1}
HOST_READS = ("item", "tolist", "__bool__", "__float__", "__int__", "numpy")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cifar")
    write_fake_cifar(root, "cifar10", 48, 16, seed=0)
    return root


def make_job(tmp: Path, data_dir: Path, **settings) -> Job:
    spec = {"trainer": "alasca", "scale": "smoke", "settings": {**SETTINGS, **settings}, "seeds": [0],
            "inputs": {}}
    runtime = Runtime(device="cpu", data_dir=str(data_dir), download=False, verify_data=False,
                      checkpoint_dir=str(tmp / "ckpt"), checkpoint_every_s=0.0, progress="none")
    return Job(spec=spec, runtime=runtime, out_dir=tmp / "out")


@pytest.mark.parametrize("method", ["standard", "alasca", "har", "cdr"])
def test_no_host_reads_inside_the_timed_loop(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                             method: str) -> None:
    """Between the meter's start and stop no tensor is read on the host (on CUDA each read would wait for
    the queued kernels): every logged scalar is summed on the device and read once per epoch."""
    state = {"timing": False, "reads": []}

    class FlaggingMeter(EfficiencyMeter):
        def start(self) -> None:
            super().start()
            state["timing"] = True

        def stop(self) -> float:
            state["timing"] = False
            return super().stop()

    def guard(name: str):
        original = getattr(torch.Tensor, name)

        def wrapped(self, *args, **kwargs):
            if state["timing"]:
                state["reads"].append(name)
            return original(self, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(trainer, "EfficiencyMeter", FlaggingMeter)
    for name in HOST_READS:
        monkeypatch.setattr(torch.Tensor, name, guard(name))
    loop.train(make_job(tmp_path, data_dir, method=method, ac_positions="third"))
    assert state["reads"] == []
    rows = pd.read_csv(tmp_path / "out/seed-0/metrics.csv")
    assert rows["loss"].notna().all() and rows["train_acc_noisy"].between(0, 1).all()
    if method == "cdr":
        assert rows["cdr_masked"].iloc[0] == pytest.approx(0.5, abs=0.01)  # τ = the nominal 0.5
    if method == "har":
        assert rows["har_penalty"].iloc[-1] > 0
    if method == "alasca":
        assert rows[["alpha_clean", "alpha_noisy"]].notna().all().all()


def test_device_sums_read_once_equal_the_python_sums() -> None:
    """float64 device sums of float32 per-batch values: what Python's float sums of `.item()` gave."""
    sums: dict[str, torch.Tensor] = {}
    values = [torch.tensor(0.1), torch.tensor(1 / 3), torch.tensor(2.5e-8)]
    python = 0.0
    for v in values:
        trainer._accumulate(sums, {"loss": v, "count": torch.tensor(3)}, 16, torch.device("cpu"))
        python += v.item() * 16
    host = trainer._to_host(sums)
    assert host["loss"] == python and host["count"] == 3 * 16 * 3
    assert trainer._to_host({}) == {}


def test_subset_batches_cover_the_fit_part_only() -> None:
    data = DeviceDataset(torch.zeros(10, 1, 2, 2), torch.arange(10), 10)
    subset = torch.tensor([1, 3, 4, 8])
    batches = trainer.SubsetBatches(data, subset, 3, torch.Generator().manual_seed(0))
    assert len(batches) == 2
    for _ in range(2):  # each epoch: every fit position exactly once, a new order
        seen = torch.cat([index for index, _, labels in batches])
        assert sorted(seen.tolist()) == [1, 3, 4, 8]


def test_precision_is_recorded() -> None:
    settings = trainer.Settings(method="standard", label_noise=SETTINGS["label_noise"], epochs=1,
                                batch_size=4, lr=0.1)
    assert trainer.precision(settings, torch.device("cpu")) == "fp32"
    assert trainer.precision(settings, torch.device("cuda")).startswith("bf16 autocast")
    no_amp = trainer.Settings(method="standard", label_noise=SETTINGS["label_noise"], epochs=1,
                              batch_size=4, lr=0.1, amp=False)
    assert trainer.precision(no_amp, torch.device("cuda")) == "fp32"
