"""The seed-001 trainer's pieces: splits, noise, early stopping, settings checks, the LIMIT update, and
whole runs through the engine (FW from the CE run, resume after a kill)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from labelrepro.core.config import ConfigError, settings_from_dict
from labelrepro.data.fake import write_fake_mnist
from labelrepro.engine import loop
from labelrepro.engine.early_stopping import EarlyStopping
from labelrepro.engine.job import Job
from labelrepro.engine.runtime import Runtime
from labelrepro.experiment import canonical_settings
from labelrepro.papers.limit import trainer as limit
from labelrepro.papers.limit.data import RawData, make_split, split_indices
from labelrepro.papers.limit.losses import ce_logit_gradient, predicted_gradient
from labelrepro.papers.limit.methods import METHODS
from labelrepro.papers.limit.settings import LimitSettings

BASE = {"epochs": 3, "batch_size": 32, "lr": 1e-3, "optimizer": "adam", "schedule": "constant"}


def settings(**kw):
    return settings_from_dict(LimitSettings, {**BASE, **kw}, "test")


# ---------------------------------------------------------------------------------------------- splits


def test_split_is_the_official_permutation_and_deterministic() -> None:
    train, val = split_indices(60_000, 0.2, 0, 42)
    assert len(train) == 48_000 and len(val) == 12_000
    expected = np.random.RandomState(42).permutation(60_000)  # official: np.random.seed(42); permutation
    assert np.array_equal(np.concatenate([train, val]), expected)
    again = split_indices(60_000, 0.2, 0, 42)
    assert np.array_equal(again[0], train) and np.array_equal(again[1], val)
    other = split_indices(60_000, 0.2, 0, 43)
    assert not np.array_equal(other[1], val)


def test_subset_comes_from_the_training_part_only() -> None:
    train_all, val = split_indices(1000, 0.2, 0, 7)
    sub, val2 = split_indices(1000, 0.2, 100, 7)
    assert len(sub) == 100 and len(set(sub)) == 100
    assert set(sub) <= set(train_all) and np.array_equal(val, val2)
    with pytest.raises(ValueError, match="exceeds"):
        split_indices(1000, 0.2, 900, 7)


def _raw(n: int = 500) -> RawData:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % 10
    return RawData(images, labels, images[:50], labels[:50])


def test_noise_is_uniform_to_other_classes_and_shared_by_methods() -> None:
    kw = {"seed": 42, "val_fraction": 0.2, "train_size": 0, "noise_rate": 0.5, "test_subset": 0,
          "device": torch.device("cpu")}
    a, b = make_split(_raw(), "mnist", **kw), make_split(_raw(), "mnist", **kw)
    assert torch.equal(a.train.labels, b.train.labels) and torch.equal(a.val.labels, b.val.labels)
    assert 0.4 < a.train_flip_rate < 0.6
    clean = make_split(_raw(), "mnist", **{**kw, "noise_rate": 0.0})
    assert clean.train_flip_rate == 0.0
    assert torch.equal(clean.train.labels, a.clean_train)
    # validation labels carry the noise too (official clean_validation=False)
    assert not torch.equal(clean.val.labels, a.val.labels)
    # official normalisation 0.456 / 0.224: a black pixel maps to -0.456 / 0.224
    assert a.train.images.min().item() == pytest.approx(-0.456 / 0.224, abs=1e-5)


# ------------------------------------------------------------------------------------- early stopping


def test_early_stopping_waits_patience_epochs_after_the_best() -> None:
    stopper = EarlyStopping(patience=3)
    history = [0.5, 0.7, 0.7, 0.6, 0.69]  # best at epoch 2; the tie at epoch 3 is no improvement
    improved = [stopper.update(e, v) for e, v in enumerate(history, start=1)]
    assert improved == [True, True, False, False, False]
    assert stopper.best == 0.7 and stopper.best_epoch == 2
    assert not stopper.should_stop(4) and stopper.should_stop(5)
    restored = EarlyStopping(patience=3)
    restored.load_state_dict(stopper.state_dict())
    assert restored.best_epoch == 2 and restored.should_stop(5)
    with pytest.raises(ValueError):
        EarlyStopping(patience=0)


# ------------------------------------------------------------------------------------------- settings


def test_settings_reject_hyperparameters_a_method_does_not_use() -> None:
    assert settings(method="limit_g_s", beta=1.0, sigma=0.1).sigma == 0.1
    with pytest.raises(ConfigError, match="does not use 'sigma'"):
        settings(method="limit_g", sigma=0.1)
    with pytest.raises(ConfigError, match="needs sigma"):
        settings(method="ce_gn")
    with pytest.raises(ConfigError, match="does not use 'beta'"):
        settings(method="ce", beta=1.0)
    with pytest.raises(ConfigError, match="lam > 0"):
        settings(method="soft_reg")
    with pytest.raises(ConfigError, match="Adam"):
        settings(method="ce", optimizer="sgd")
    with pytest.raises(ConfigError, match="unknown LIMIT method 'gce'"):
        settings(method="gce")


# --------------------------------------------------------------------------------- the LIMIT update


def _objective(s: LimitSettings, nets: limit.Nets, noise: torch.Generator):
    """The method's per-batch objective, built from the parts of a run that it reads."""
    run = SimpleNamespace(nets=nets, settings=s, noise=noise, job=None, split=None)
    return METHODS[s.method].objective(run)  # type: ignore[arg-type]


def test_limit_step_feeds_the_predicted_gradient_to_the_classifier_logits() -> None:
    s = settings(method="limit_g", beta=0.5)
    nets = limit.build_nets(s, 10, 42, torch.device("cpu"))
    loss_fn = _objective(s, nets, torch.Generator().manual_seed(0))
    x, y = torch.randn(8, 1, 28, 28), torch.arange(8) % 10
    captured: list[torch.Tensor] = []
    original = nets.classifier.forward

    def forward(inp: torch.Tensor) -> torch.Tensor:
        out = original(inp)
        out.register_hook(captured.append)  # d objective / d logits
        captured.append(out)
        return out

    nets.classifier.forward = forward  # type: ignore[method-assign]
    loss, _ = loss_fn(x, y)
    loss.backward()
    logits, grad = captured
    with torch.no_grad():
        mu = predicted_gradient(logits, nets.predictor(x))  # type: ignore[misc]
    torch.testing.assert_close(grad, mu)
    assert not torch.allclose(grad, ce_logit_gradient(logits, y))
    # q received a gradient from its own loss; the classifier's weights from the substituted one
    assert all(p.grad is not None for p in nets.predictor.parameters())  # type: ignore[union-attr]
    assert nets.classifier.head.weight.grad is not None


def test_sampling_adds_seeded_noise_of_std_sigma_to_the_substituted_gradient() -> None:
    s = settings(method="limit_l_s", beta=0.0, sigma=0.3)
    nets = limit.build_nets(s, 10, 42, torch.device("cpu"))
    x, y = torch.randn(64, 1, 28, 28), torch.arange(64) % 10
    grads = []
    for _ in range(2):
        nets.classifier.zero_grad()
        loss_fn = _objective(s, nets, torch.Generator().manual_seed(5))
        loss, _ = loss_fn(x, y)
        loss.backward()
        grads.append(nets.classifier.head.weight.grad.clone())  # type: ignore[union-attr]
    torch.testing.assert_close(grads[0], grads[1])  # same generator seed, same sample


def test_nets_follow_the_method_declaration() -> None:
    for name in ("ce", "fw", "soft_reg", "limit_g", "limit_l_s"):
        method = METHODS[name]
        hp = {"ce": {}, "fw": {}, "soft_reg": {"lam": 0.1}, "limit_g": {}, "limit_l_s": {"sigma": 0.1}}[name]
        nets = limit.build_nets(settings(method=name, **hp), 10, 42, torch.device("cpu"))
        assert (nets.predictor is not None) == (method.predictor is not None), name
        assert (nets.classifier.head.bias is None) == method.needs_features, name
    # the same seed gives the same initial weights (nn.Module init reads the seeded global RNG)
    a = limit.build_nets(settings(method="ce"), 10, 42, torch.device("cpu")).classifier.state_dict()
    b = limit.build_nets(settings(method="ce"), 10, 42, torch.device("cpu")).classifier.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------------------------ FW/DMI init


def test_fw_and_dmi_require_the_ce_run_of_their_column() -> None:
    column = {"epochs": 3, "noise_rate": 0.5, "train_size": 100}
    ce = canonical_settings("limit", {**BASE, **column, "method": "ce"}, "test")[1]
    for method, hp in (("fw", {}), ("dmi", {"lr": 1e-5})):
        required = settings(method=method, **column, **hp).required_runs()
        assert set(required) == {"init"}
        assert canonical_settings("limit", required["init"], "test")[1] == ce, method
    assert settings(method="mae").required_runs() == {}
    # the CE run of DMI's column trains with CE's learning rate, whatever DMI's own
    assert settings(method="dmi", lr=1e-5, init_lr=1e-3).required_runs()["init"]["lr"] == 1e-3


def _job(tmp: Path, data: Path, method: str, inputs: dict[str, str] | None = None, **hp: object) -> Job:
    spec = {"trainer": "limit", "scale": "smoke",
            "settings": {**BASE, "epochs": 2, "patience": 1, "train_size": 40, "noise_rate": 0.5,
                         "method": method, **hp},
            "seeds": [42, 43], "inputs": inputs or {}}
    runtime = Runtime(device="cpu", data_dir=str(data), download=False, verify_data=False,
                      checkpoint_dir=str(tmp / "ckpt"), progress="none")
    return Job(spec=spec, runtime=runtime, out_dir=tmp / "runs" / method)


def test_train_writes_runs_and_fw_starts_from_the_ce_model(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_fake_mnist(data, "mnist", 100, 40, seed=0)
    loop.train(_job(tmp_path, data, "ce"))
    ce = tmp_path / "runs" / "ce"
    frame = pd.read_csv(ce / "seed-43" / "metrics.csv")
    assert list(frame["epoch"]) == [1, 2] and frame["n_train"].eq(40).all()
    last = frame.iloc[-1]
    assert last["best_val_acc"] == frame["val_acc"].max() and 0 <= last["test_acc"] <= 1
    assert (ce / "seed-42" / "best_model.pt").exists()
    meta = json.loads((ce / "seed-42" / "meta.json").read_text())
    assert meta["method_paper_name"] == "CE"
    fw = _job(tmp_path, data, "fw", inputs={"init": str(ce)})
    run = limit.RUN(fw, [42])  # the classifier FW starts from is CE's best model of the same split ...
    best = torch.load(ce / "seed-42" / "best_model.pt", weights_only=True)
    params = dict(run.nets.classifier.named_parameters())
    assert params and all(torch.equal(p, best[k]) for k, p in params.items())
    # ... its parameters only, as the official code: batch-norm running statistics start fresh
    buffers = {k: v for k, v in run.nets.classifier.state_dict().items() if "running_mean" in k}
    assert buffers and all(v.eq(0).all() for v in buffers.values())
    assert not all(torch.equal(best[k], v) for k, v in buffers.items())
    # FW's transition matrix comes from the whole stored CE model (buffers included)
    whole = limit.RUN(_job(tmp_path, data, "fw", inputs={"init": str(ce)}, init_copy="state"), [42])
    assert all(torch.equal(v, best[k]) for k, v in whole.nets.classifier.state_dict().items())
    assert torch.equal(run.start_model_outputs(run.split.train), whole.softmax_outputs(whole.split.train))
    loop.train(fw)
    meta = json.loads((tmp_path / "runs" / "fw" / "seed-42" / "meta.json").read_text())
    assert meta["config"]["settings"]["method"] == "fw" and meta["config"]["inputs"] == {"init": str(ce)}
    assert meta["method_paper_name"] == "FW"
    assert not (tmp_path / "runs" / "fw" / "seed-42" / "best_model.pt").exists()
    with pytest.raises(FileNotFoundError, match=r"best_model\.pt"):
        limit.RUN(_job(tmp_path, data, "dmi", inputs={"init": str(tmp_path / "missing")}), [42])


def test_a_killed_job_resumes_with_identical_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    write_fake_mnist(data, "mnist", 100, 40, seed=0)

    def job(root: Path) -> Job:
        j = _job(root, data, "limit_g_s", beta=1.0, sigma=0.1)
        j.spec["settings"].update(patience=2)
        object.__setattr__(j, "runtime", Runtime(**{**vars(j.runtime), "checkpoint_every_s": 0.0}))
        return j

    loop.train(job(tmp_path / "straight"))
    calls = {"n": 0, "die_at": 4}  # 2 splits x 2 epochs: die in the second epoch of the second split
    original = limit.LimitRun.train_epoch

    def counting(run: limit.LimitRun) -> tuple[float, float]:
        calls["n"] += 1
        if calls["n"] == calls["die_at"]:
            raise KeyboardInterrupt
        return original(run)

    monkeypatch.setattr(limit.LimitRun, "train_epoch", counting)
    with pytest.raises(KeyboardInterrupt):
        loop.train(job(tmp_path / "killed"))
    calls.update(n=0, die_at=-1)
    loop.train(job(tmp_path / "killed"))
    assert calls["n"] == 1  # only the lost epoch is trained again
    for seed in (42, 43):
        a, b = (pd.read_csv(tmp_path / r / "runs" / "limit_g_s" / f"seed-{seed}" / "metrics.csv")
                .drop(columns="epoch_s") for r in ("straight", "killed"))
        pd.testing.assert_frame_equal(a, b)


def test_limit_runs_save_their_best_classifier_and_q(tmp_path: Path) -> None:
    """Figs. A1-A3 read `best_nets.pt` (papers/limit/gradient_stats.py): the best-validation classifier
    (= best_model) and q of every split; the per-example statistics of that file match the nets."""
    from labelrepro.papers.limit.gradient_stats import run_statistics

    data = tmp_path / "data"
    write_fake_mnist(data, "mnist", 100, 40, seed=0)
    job = _job(tmp_path, data, "limit_g", beta=1.0)
    loop.train(job)
    saved = tmp_path / "runs" / "limit_g" / "seed-42" / limit.BEST_NETS_FILE
    state = torch.load(saved, weights_only=True)
    assert set(state) == {"classifier", "predictor"} and state["predictor"]
    s = settings_from_dict(LimitSettings, job.spec["settings"], "test")
    frame = run_statistics(s, 42, saved, job.runtime, torch.device("cpu"), None)
    assert len(frame) == 40 and frame["noisy"].mean() == pytest.approx(0.5, abs=0.2)
    nets = limit.build_nets(s, 10, 42, torch.device("cpu"))
    nets.load_state_dict(state)
    nets.predictor.eval()
    run = limit.RUN(job, [42])
    with torch.no_grad():
        q = torch.softmax(nets.predictor(run.split.train.images), 1)
    onehot = torch.nn.functional.one_hot(run.split.train.labels, 10).double()
    expected = (onehot - q.double()).norm(dim=1).numpy()
    assert np.allclose(frame["distance"], expected, atol=1e-5)
    assert not (tmp_path / "runs" / "limit_g" / "seed-42" / limit.BEST_MODEL_FILE).exists()
