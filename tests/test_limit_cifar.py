"""Seed 001 on CIFAR-10 (Tables 6, 7): pair noise, the bootstrap error bar, "+ init." and the table layout.

Hand-computed expectations: the pair map sends exactly 9->1, 2->0, 4->7, 3->5 at rate 1 and nothing else;
the bootstrap std of an accuracy a on n examples approaches the Bernoulli-mean std sqrt(a (1 - a) / n);
"+ init." puts the CE run's stored parameters into q, bit for bit, and leaves the classifier fresh.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from labelrepro.core.config import settings_from_dict
from labelrepro.data.fake import write_fake_cifar
from labelrepro.engine import loop
from labelrepro.engine.job import Job
from labelrepro.engine.runtime import Runtime
from labelrepro.papers.limit import trainer as limit
from labelrepro.papers.limit.data import IMAGENET_MEAN, RawData, make_split, official_info
from labelrepro.papers.limit.render import latex_tables
from labelrepro.papers.limit.selection import bootstrap_std, correctness_vector, limit_selection_bootstrap
from labelrepro.papers.limit.settings import LimitSettings

BASE = {"epochs": 1, "batch_size": 64, "lr": 1e-3, "optimizer": "adam", "schedule": "constant",
        "dataset": "cifar10", "base_width": 2, "patience": 1}


def _raw_cifar(n: int = 2000) -> RawData:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % 10
    return RawData(images, labels, images[:100], labels[:100])


# ------------------------------------------------------------------------------------------- pair noise


def test_pair_noise_maps_the_four_pairs_and_nothing_else() -> None:
    split = make_split(_raw_cifar(), "cifar10", seed=42, val_fraction=0.2, train_size=0, noise_rate=0.4,
                       test_subset=0, device=torch.device("cpu"), noise_model="pair")
    clean, noisy = split.clean_train, split.train.labels
    changed = clean != noisy
    pairs = {(int(a), int(b)) for a, b in zip(clean[changed], noisy[changed], strict=True)}
    assert pairs == {(9, 1), (2, 0), (4, 7), (3, 5)}  # no dog -> cat (5 -> 3), no other class moves
    for source in (9, 2, 4, 3):  # each source class flips with probability 0.4 (~160 examples each)
        rate = changed[clean == source].float().mean().item()
        assert 0.3 < rate < 0.5, source
    assert not changed[(clean == 5) | (clean == 0) | (clean == 1)].any()
    # validation labels carry the same noise model (official clean_validation=False)
    val_changed = split.val.labels != torch.arange(2000)[torch.from_numpy(
        np.random.RandomState(42).permutation(2000)[1600:])] % 10
    assert val_changed.any()


def test_pair_noise_is_cifar10_only_and_cifar_uses_imagenet_statistics() -> None:
    with pytest.raises(ValueError, match="pair"):
        settings_from_dict(LimitSettings, {**BASE, "dataset": "cifar100", "noise_model": "pair",
                                           "method": "ce"}, "test")
    with pytest.raises(ValueError, match="soft_reg"):
        settings_from_dict(LimitSettings, {**BASE, "method": "soft_reg", "lam": 0.1}, "test")
    assert official_info("cifar10").mean == IMAGENET_MEAN and official_info("mnist").mean == (0.456,)


# -------------------------------------------------------------------------------------------- bootstrap


def test_bootstrap_std_matches_the_bernoulli_mean_std() -> None:
    n, accuracy = 400, 0.8
    correct = correctness_vector(accuracy, n)
    assert correct.sum() == 320 and len(correct) == n
    expected = math.sqrt(accuracy * (1 - accuracy) / n)  # 0.02
    std = bootstrap_std(correct)
    # 1000 resamples: the std estimate has a relative error of about 1 / sqrt(2 * 999) = 2.2%
    assert std == pytest.approx(expected, rel=0.08)
    assert bootstrap_std(correct) == std  # seeded
    assert bootstrap_std(np.ones(50)) == 0.0  # every resample of a perfect classifier is perfect


def test_bootstrap_aggregation_replaces_the_std_over_splits() -> None:
    rows = []
    for method, acc in (("ce", 0.9), ("limit_g", 0.5)):
        for epoch in (1, 2):
            rows.append({"cell": f"m-{method}", "method": method, "noise_rate": 0.2, "train_size": 0,
                         "seed": 42, "epoch": epoch, "best_val_acc": 0.5, "best_epoch": 1,
                         "test_acc": acc, "n_test": 10_000})
    table = limit_selection_bootstrap(pd.DataFrame(rows))
    assert table["selected"].all() and table["n_test"].eq(10_000).all()
    stds = dict(zip(table["method"], table["test_acc_std"], strict=True))
    assert stds["ce"] == pytest.approx(0.003, rel=0.1)  # sqrt(0.9 * 0.1 / 1e4): Table 6's "± 0.3"
    assert stds["limit_g"] == pytest.approx(0.005, rel=0.1)  # sqrt(0.25 / 1e4): "± 0.5"
    two = pd.DataFrame([*rows, {**rows[0], "seed": 43}])
    with pytest.raises(ValueError, match="one run per cell"):
        limit_selection_bootstrap(two)


# ---------------------------------------------------------------------------------------- "+ init."


def _job(tmp: Path, data: Path, method: str, inputs: dict[str, str] | None = None, **hp: object) -> Job:
    spec = {"trainer": "limit", "scale": "smoke",
            "settings": {**BASE, "noise_rate": 0.4, "noise_model": "pair", "method": method,
                         "augment": {"crop_padding": 4, "hflip": True}, **hp},
            "seeds": [42], "inputs": inputs or {}}
    runtime = Runtime(device="cpu", data_dir=str(data), download=False, verify_data=False,
                      checkpoint_dir=str(tmp / "ckpt"), progress="none")
    return Job(spec=spec, runtime=runtime, out_dir=tmp / "runs" / method)


def test_init_loads_exactly_the_ce_classifier_into_q(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_fake_cifar(data, "cifar10", 200, 50, seed=0)
    loop.train(_job(tmp_path, data, "ce"))
    ce = tmp_path / "runs" / "ce"
    rows = pd.read_csv(ce / "seed-42" / "metrics.csv")
    assert rows["n_train"].eq(160).all() and rows["n_test"].eq(50).all()
    best = torch.load(ce / "seed-42" / "best_model.pt", weights_only=True)
    run = limit.RUN(_job(tmp_path, data, "limit_g_init", inputs={"init": str(ce)}, beta=1.0), [42])
    assert run.nets.predictor is not None
    q = dict(run.nets.predictor.named_parameters())
    assert q and all(torch.equal(p, best[k]) for k, p in q.items())  # every q parameter is CE's
    buffers = {k: v for k, v in run.nets.predictor.state_dict().items() if "running_mean" in k}
    assert buffers and all(v.eq(0).all() for v in buffers.values())  # parameters only, as official
    clf = dict(run.nets.classifier.named_parameters())  # the classifier starts from scratch
    assert not all(torch.equal(p, best[k]) for k, p in clf.items())
    fresh = limit.RUN(_job(tmp_path, data, "limit_g", beta=1.0), [42])
    assert all(torch.equal(p, dict(fresh.nets.classifier.named_parameters())[k]) for k, p in clf.items())
    loop.train(_job(tmp_path, data, "limit_g_init", inputs={"init": str(ce)}, beta=1.0))
    assert len(pd.read_csv(tmp_path / "runs" / "limit_g_init" / "seed-42" / "metrics.csv")) == 1


def test_init_requires_the_ce_run_with_ce_patience() -> None:
    s = settings_from_dict(LimitSettings, {**BASE, "method": "limit_l_init", "beta": 3.0, "patience": 200,
                                           "init_patience": 50}, "test")
    init = s.required_runs()["init"]
    assert init["method"] == "ce" and init["patience"] == 50 and init["beta"] == 0.0
    assert init["init_patience"] == 0 and init["lr"] == 1e-3
    same = settings_from_dict(LimitSettings, {**BASE, "method": "fw"}, "test").required_runs()["init"]
    assert same["patience"] == 1  # 0 = the run's own patience


# ------------------------------------------------------------------------------------------ rendering


def test_cifar_table_has_noise_columns_only_and_short_labels() -> None:
    rows = [{"method": m, "noise_rate": p, "train_size": 0, "test_acc_mean": acc, "test_acc_std": 0.003,
             "selected": True, "beta": 1.0 if m.startswith("limit") else np.nan}
            for m, acc in (("ce", 0.9), ("limit_g", 0.93), ("limit_g_init", 0.931))
            for p in (0.0, 0.4)]
    tex = latex_tables(pd.DataFrame(rows), "smoke", "caption", short_labels=True)
    assert "{$p = 0$}" in tex and "{$p = 0.4$}" in tex
    assert "All" not in tex and "- \\mathrm{S}" not in tex
    assert "$\\mathrm{LIMIT}_{\\mathcal{G}}$ & " in tex and "+ init." in tex
    assert tex.count("\\textbf{93.1 $\\pm$ 0.3}") == 2  # best rounded mean per column, both columns


# ------------------------------------------------------------------------------------------ Fig. A0


def test_smoothing_is_tensorboards_debiased_ema() -> None:
    from labelrepro.papers.limit.curves import smooth

    # weight 0.6: s1 = x1; s2 = (0.6 * 0.4 * 1 + 0.4 * 0) / (1 - 0.36) = 0.375 for x = (1, 0)
    assert smooth([1.0, 0.0]) == pytest.approx([1.0, 0.375])
    assert smooth([0.3] * 5) == pytest.approx([0.3] * 5)


def test_beta_curves_summarise_every_run() -> None:
    from labelrepro.papers.limit.curves import limit_beta_curves

    rows = [{"method": "limit_g", "beta": b, "seed": s, "epoch": e, "train_acc": 0.1 * e / (1 + b),
             "epoch_test_acc": 0.5, "test_acc": 0.6}
            for b in (0.0, 10.0) for s in (42, 43) for e in (1, 2, 3)]
    table = limit_beta_curves(pd.DataFrame(rows)).set_index("beta")
    assert table.loc[0.0, "train_acc_final_mean"] == pytest.approx(0.3)
    assert table.loc[10.0, "train_acc_final_mean"] == pytest.approx(0.3 / 11)
    assert table.loc[0.0, "gap_final_mean"] == pytest.approx(-0.2) and table["n_splits"].eq(2).all()
