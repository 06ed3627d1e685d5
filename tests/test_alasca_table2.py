"""Seed 002's Table 2 (Clothing1M): ResNet-50 + the official branch ACs, the fake copy in the real layout,
the per-epoch class-balanced draw, the missing-data and offline-weights errors, settings and renderer."""

from __future__ import annotations

import types
import urllib.error

import pandas as pd
import pytest
import torch

from labelrepro.core.config import settings_from_dict
from labelrepro.papers.alasca import clothing1m_data as data
from labelrepro.papers.alasca import resnet50
from labelrepro.papers.alasca.clothing1m import (
    NUM_CLASSES,
    Clothing1MMissingError,
    check_layout,
    clothing1m_root,
    load_split,
    write_fake_copy,
)
from labelrepro.papers.alasca.render import render_alasca_table2
from labelrepro.papers.alasca.settings import AlascaSettings
from labelrepro.papers.alasca.trainer import build_network

BASE = {"method": "standard", "label_noise": {"model": "none"}, "dataset": "clothing1m",
        "backbone": "resnet50", "pretrained": False, "image_size": 32, "epochs": 2, "batch_size": 8,
        "lr": 0.002, "alasca": True, "alasca_confidence": "instantaneous", "als_warmup_epochs": 3}


def _settings(**overrides):
    return settings_from_dict(AlascaSettings, {**BASE, **overrides}, "test")


def test_resnet50_with_branch_acs_shapes():
    """layer1-4 outputs of a 32-pixel input and the three official ACs (512 → 2048 wide) → 14 logits."""
    net = build_network(_settings(), NUM_CLASSES, seed=0)
    x = torch.randn(2, 3, 32, 32)
    main, acs, feats = net(x)
    assert main.shape == (2, 14) and [tuple(a.shape) for a in acs] == [(2, 14)] * 3
    shapes = [(2, 256, 8, 8), (2, 512, 4, 4), (2, 1024, 2, 2), (2, 2048, 1, 1)]
    assert [tuple(f.shape) for f in feats] == shapes
    first = net.acs[0].body  # 1×1 → 512, 8×8 stride 8, 1×1 → 2048 (official _make_branch at ResNet-50)
    assert (first[0].in_channels, first[0].out_channels) == (256, 512)
    assert first[3].kernel_size == (8, 8) and first[3].stride == (8, 8) and first[6].out_channels == 2048
    assert [ac.body[3].kernel_size[0] for ac in net.acs] == [8, 4, 2]
    plain = build_network(_settings(alasca=False), NUM_CLASSES, seed=0)
    assert len(plain.acs) == 0 and plain(x)[0].shape == (2, 14)
    again = build_network(_settings(), NUM_CLASSES, seed=0)  # initialisation from the seed only
    assert torch.equal(again.backbone.fc.weight, net.backbone.fc.weight)


def test_offline_pretrained_weights_are_one_clear_error(monkeypatch):
    import torchvision.models

    def offline(**_):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models, "resnet50", offline)
    with pytest.raises(resnet50.PretrainedWeightsUnavailableError) as error:
        resnet50.ResNet50Features(14, pretrained=True)
    message = str(error.value)
    assert "IMAGENET1K_V1" in message and "pretrained: false" in message and "checkpoints" in message


def test_fake_copy_has_the_real_layout(tmp_path):
    root = write_fake_copy(tmp_path / "clothing1m", n_train=42, n_val=14, n_test=28, size=36)
    files = check_layout(root)
    assert files["noisy_train_key_list.txt"].parent == root  # where the authors' loader reads them
    assert files["clean_test_key_list.txt"].parent == root / "annotations"
    train, test = load_split(root, "train"), load_split(root, "test")
    assert len(train) == 42 and len(test) == 28 and len(load_split(root, "val")) == 14
    assert all(p.is_file() and p.suffix == ".jpg" for p in train.paths)
    assert str(train.paths[0].relative_to(root)).startswith("images/")
    assert sorted(set(test.labels)) == list(range(NUM_CLASSES))


def test_class_balanced_draw_as_the_official_loader():
    labels = torch.tensor([0] * 50 + [1] * 3 + list(range(2, 14)) * 10)
    generator = torch.Generator().manual_seed(0)
    chosen = data.balanced_sample(labels, 56, generator)  # cap 56/14 = 4 per class
    counts = torch.bincount(labels[chosen], minlength=14)
    assert counts.max() <= 4 and counts[1] == 3 and len(chosen) == data.epoch_sample_size(labels, 56) == 55
    assert len(set(chosen.tolist())) == len(chosen)
    assert data.epoch_sample_size(labels, 20) == 20  # the total cap


def test_batches_are_deterministic_and_normalised(tmp_path):
    root = write_fake_copy(tmp_path / "clothing1m", n_train=28, n_val=14, n_test=14, size=40)
    split = load_split(root, "train")
    paths, labels = [str(p) for p in split.paths], torch.tensor(split.labels)
    files = data.ImageFiles(paths, labels, 32, torch.device("cpu"))
    batches = data.TrainBatches(files, 8, 28, seed=3)  # cap 2 per (noisy) class
    first = list(batches)
    second = list(data.TrainBatches(files, 8, 28, seed=3))
    assert len(first) == len(batches) == -(-batches.epoch_size // 8)
    assert all(torch.equal(a[1], b[1]) for a, b in zip(first, second, strict=True))
    index, images, labels = first[0]
    assert images.shape == (8, 3, 32, 32) and images.dtype == torch.float32
    assert torch.equal(labels, files.labels[index])
    assert -4 < images.mean() < 4
    _, test_images, _ = next(files.eval_batches(5))
    assert test_images.shape == (5, 3, 32, 32)
    assert data.resize_for(224) == 256 and data.resize_for(32) == 37


def test_run_stops_before_training_when_the_data_are_absent(tmp_path):
    runtime = types.SimpleNamespace(data_dir=str(tmp_path))
    job = types.SimpleNamespace(runtime=runtime, device=torch.device("cpu"))
    with pytest.raises(Clothing1MMissingError) as error:
        data.load(job, _settings())
    message = str(error.value)
    assert str(clothing1m_root(tmp_path)) in message and "noisy_label_kv.txt" in message
    assert "clean_test_key_list.txt" in message and "request it from its" in message


@pytest.mark.parametrize("overrides, fragment", [
    ({"backbone": "resnet34_cifar"}, "resnet50"),
    ({"label_noise": {"model": "symmetric", "rate": 0.2}}, "own noisy labels"),
    ({"method": "coteaching"}, "coteach_forget_rate"),
    ({"method": "gce"}, "standard and coteaching"),
    ({"image_size": 48}, "multiple of 32"),
])
def test_clothing1m_settings_are_checked(overrides, fragment):
    with pytest.raises(ValueError, match=fragment):
        _settings(**overrides)


def test_table2_renders_quoted_columns_marked(tmp_path):
    final = pd.DataFrame([{"method": m, "variant": v, "test_acc_avg": acc, "cell": f"{m}-{v}", "seed": 0}
                          for m, v, acc in [("standard", "base", 0.5), ("standard", "alasca", 0.6),
                                            ("coteaching", "base", 0.55), ("coteaching", "alasca", 0.65)]])
    out = tmp_path / "t2.tex"
    cells = render_alasca_table2(pd.DataFrame(), final, out, "smoke")
    tex = out.read_text()
    assert "Accuracy & 50.00 & 69.75$^\\dagger$ & 71.02$^\\dagger$ & 55.00 & " in tex
    assert "quoted from the paper, not re-run" in tex and "Paper & 68.94" in tex and "SMOKE SCALE" in tex
    assert list(cells.loc[cells["source"] == "re-run", "row"]) == ["Standard", "Co-teaching", "ALASCA",
                                                                     "A-Coteaching"]
    assert cells.set_index("row").at["A-Coteaching", "mean"] == pytest.approx(65.0)


def test_a_killed_clothing1m_coteaching_run_resumes_with_identical_numbers(tmp_path, monkeypatch):
    """A-Coteaching on a tiny fake copy through the engine: killed in epoch 2, resumed, same numbers
    (the per-epoch draw and the augmentation come from the checkpointed generator)."""
    from labelrepro.engine import loop
    from labelrepro.engine.job import Job
    from labelrepro.engine.runtime import Runtime
    from labelrepro.papers.alasca import trainer

    write_fake_copy(clothing1m_root(tmp_path / "data"), n_train=28, n_val=14, n_test=14, size=36)
    settings = {**BASE, "method": "coteaching", "coteach_forget_rate": 0.385, "coteach_num_gradual": 2,
                "clothing_epoch_samples": 14, "als_warmup_epochs": 1, "report_last_epochs": 2,
                "schedule": "multistep", "milestones": [5], "gamma": 0.01}

    def job(name):
        runtime = Runtime(device="cpu", data_dir=str(tmp_path / "data"), download=False, verify_data=False,
                          checkpoint_dir=str(tmp_path / name / "ckpt"), checkpoint_every_s=0.0,
                          progress="none")
        spec = {"trainer": "alasca", "scale": "smoke", "settings": settings, "seeds": [0], "inputs": {}}
        return Job(spec=spec, runtime=runtime, out_dir=tmp_path / name / "out")

    loop.train(job("straight"))
    real, calls = trainer.evaluate_pair, {"n": 0}

    def evaluate_or_die(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(trainer, "evaluate_pair", evaluate_or_die)
    with pytest.raises(KeyboardInterrupt):
        loop.train(job("killed"))
    monkeypatch.setattr(trainer, "evaluate_pair", real)
    loop.train(job("killed"))
    timing = ["epoch_time_s", "train_time_s", "peak_mem_mb"]
    straight, resumed = (pd.read_csv(tmp_path / name / "out/seed-0/metrics.csv").drop(columns=timing)
                         for name in ("straight", "killed"))
    pd.testing.assert_frame_equal(straight, resumed, check_exact=True)
    assert straight["epoch"].tolist() == [1, 2] and straight["test_acc"].between(0, 1).all()
    alpha = straight["alpha_clean"].tolist()  # α̃ ramped in over 1 epoch: 0 at epoch 0, then instantaneous
    assert alpha[0] == 0 and 0 < alpha[1] < 1
