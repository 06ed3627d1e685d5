"""ALASCA Table 1's wiring: each base method ± ALASCA (methods.py), Co-teaching's two networks, the
epoch-level selections of CRUST and FINE (selection.py) and short runs of every row through the engine."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from labelrepro.core.config import ConfigError, settings_from_dict
from labelrepro.data.fake import write_fake_cifar
from labelrepro.engine import loop
from labelrepro.engine.job import Job
from labelrepro.engine.runtime import Runtime
from labelrepro.papers.alasca import baselines as B
from labelrepro.papers.alasca import selection
from labelrepro.papers.alasca.losses import EmaConfidence
from labelrepro.papers.alasca.methods import METHODS, table1_methods
from labelrepro.papers.alasca.trainer import Settings

SYMM50 = {"model": "symmetric", "rate": 0.5, "allow_true_class": True}


def make(**kw) -> Settings:
    return settings_from_dict(Settings, {"epochs": 1, "batch_size": 4, "lr": 0.1, "label_noise": SYMM50,
                                         "als_warmup_epochs": 0, **kw}, "test")


class _Train:
    """The training set as a method sees it: its (noisy) labels and its length."""

    def __init__(self, labels: torch.Tensor) -> None:
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)


def fake_run(settings: Settings, n: int = 4, num_classes: int = 3, clean: list[int] | None = None):
    """What a method reads from its run: settings, epoch, EMA, extras and the clean labels."""
    clean_labels = torch.tensor(clean if clean is not None else [0] * n)
    splits = SimpleNamespace(clean_labels=clean_labels, num_classes=num_classes,
                             train=_Train(clean_labels.clone()))
    return SimpleNamespace(settings=settings, position=0, ema=EmaConfidence(n, num_classes, 0.7, 1 / 3),
                           extras={}, splits=splits, device=torch.device("cpu"), seed=0)


def test_table1_rows_and_alasca_only_on_base_methods() -> None:
    assert table1_methods() == ["standard", "gce", "sce", "elr", "coteaching", "crust", "fine"]
    assert make(method="gce", alasca=True).has_acs and not make(method="gce").has_acs
    with pytest.raises(ConfigError, match="wraps a Table 1 base method"):
        make(method="har", alasca=True)
    with pytest.raises(ConfigError, match="crust_fraction"):
        make(method="crust", crust_fraction=0.0)


def test_standard_with_alasca_is_the_alasca_method() -> None:
    main = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    acs = [torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 3.0]])]
    y, idx = torch.tensor([0, 1]), torch.tensor([0, 1])
    run = fake_run(make(method="standard", alasca=True), n=2)
    wrapped, alpha, _ = METHODS["standard"].loss(run, main, acs, [], y, idx)
    reference, ref_alpha = METHODS["alasca"].objective(make(method="alasca"), main, acs, y, idx,
                                                       EmaConfidence(2, 3, 0.7, 1 / 3), epoch=0)
    assert wrapped.item() == pytest.approx(reference.item())
    assert alpha.tolist() == pytest.approx(ref_alpha.tolist())
    plain, none, _ = METHODS["standard"].loss(fake_run(make(method="standard")), main, [], [], y, idx)
    assert none is None and plain.item() == pytest.approx(F.cross_entropy(main, y).item())


def test_als_covers_the_whole_batch_while_the_base_loss_uses_the_selection() -> None:
    """FINE keeps samples 0 and 2 of 4: the base CE is their mean, ALS on the AC covers all 4 (α̃ of all
    4 returned, every EMA row updated)."""
    settings = make(method="fine", alasca=True, lam=2.0)
    run = fake_run(settings)
    run.extras["selected"] = torch.tensor([True, False, True, False])
    run.extras["weight"] = torch.ones(4)
    main = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 4.0]])
    ac = torch.tensor([[0.5, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    y, idx = torch.zeros(4, dtype=torch.long), torch.arange(4)
    loss, alpha, logs = METHODS["fine"].loss(run, main, [ac], [], y, idx)
    ce = F.cross_entropy(main, y, reduction="none")
    # EMA after one update: 0.3·z; α̃ = 1 − softmax(0.3·z·3)_0 = 1 − softmax(0.9 z)_0
    expected_alpha = 1 - torch.softmax(0.9 * main, dim=1)[:, 0]
    assert alpha.tolist() == pytest.approx(expected_alpha.tolist(), abs=1e-6)
    target = torch.stack([1 - expected_alpha, expected_alpha / 2, expected_alpha / 2], dim=1)
    als = -(target * torch.log_softmax(ac, dim=1)).sum(dim=1).mean()
    assert loss.item() == pytest.approx(((ce[0] + ce[2]) / 2 + 2.0 * als).item(), rel=1e-6)
    assert (run.ema.ema.abs().sum(dim=1) > 0).all()  # unselected samples' EMA rows move too
    assert logs["select_n"].item() == 0.5 and logs["select_tp"].item() == 0.5  # all 4 correctly labelled


def test_crust_loss_weights_the_medoids_by_cluster_size() -> None:
    run = fake_run(make(method="crust"))
    run.extras["selected"] = torch.tensor([True, False, False, True])
    run.extras["weight"] = torch.tensor([3.0, 0.0, 0.0, 1.0])
    main, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    loss, _, _ = METHODS["crust"].loss(run, main, [], [], y, torch.arange(4))
    ce = F.cross_entropy(main, y, reduction="none")
    assert loss.item() == pytest.approx(((3 * ce[0] + ce[3]) / 4).item())


def test_coteaching_networks_learn_the_other_ones_small_loss_samples() -> None:
    """Forget rate 0.5 of 4 samples: network 1's small-loss set is {0, 2}, network 2's {1, 3}; network 1's
    CE is the mean over {1, 3}, network 2's over {0, 2}."""
    settings = make(method="coteaching", coteach_forget_rate=0.5, coteach_num_gradual=0)
    run = fake_run(settings, num_classes=2, clean=[0, 1, 0, 1])
    METHODS["coteaching"].setup(run)
    y = torch.tensor([0, 0, 0, 0])
    m1 = torch.log(torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])).requires_grad_()
    m2 = torch.log(torch.tensor([[0.1, 0.9], [0.95, 0.05], [0.5, 0.5], [0.7, 0.3]])).requires_grad_()
    loss, alpha, logs = METHODS["coteaching"].pair_loss(run, (m1, []), (m2, []), y, torch.arange(4))
    loss.backward()
    assert alpha is None
    g1 = m1.grad.abs().sum(dim=1)
    g2 = m2.grad.abs().sum(dim=1)
    assert (g1[[0, 2]] == 0).all() and (g1[[1, 3]] > 0).all()
    assert (g2[[1, 3]] == 0).all() and (g2[[0, 2]] > 0).all()
    expected = F.cross_entropy(m1[[1, 3]], y[[1, 3]]) + F.cross_entropy(m2[[0, 2]], y[[0, 2]])
    assert loss.item() == pytest.approx(expected.item())
    # selected sets {1, 3} (both noisy: clean labels 1) and {0, 2} (both correct); 2 correct of 4
    assert logs["select_tp"].item() == pytest.approx(0.25) and logs["select_n"].item() == pytest.approx(0.5)
    assert logs["select_clean"].item() == pytest.approx(0.5)


def test_coteaching_forget_rate_defaults_to_the_realised_noise_rate() -> None:
    run = fake_run(make(method="coteaching", coteach_num_gradual=3), clean=[0, 1, 2, 0])
    run.splits.train.labels = torch.tensor([0, 1, 1, 1])  # 2 of 4 flipped
    METHODS["coteaching"].setup(run)
    rates = []
    for epoch in range(4):
        run.position = epoch
        rates.append(METHODS["coteaching"].forget_rate(run))
    assert rates == pytest.approx([0.0, 0.25, 0.5, 0.5])  # linspace(0, 0.5, 3), then 0.5


def test_elr_target_is_kept_per_sample_index() -> None:
    run = fake_run(make(method="elr", elr_beta=0.5, elr_lam=1.0), n=5, num_classes=2)
    METHODS["elr"].setup(run)
    logits = torch.log(torch.tensor([[0.8, 0.2]]))
    loss, _, _ = METHODS["elr"].loss(run, logits, [], [], torch.tensor([0]), torch.tensor([3]))
    targets = run.extras["elr"].targets
    assert targets[3].tolist() == pytest.approx([0.4, 0.1])  # 0.5·0 + 0.5·p
    assert targets[[0, 1, 2, 4]].abs().sum() == 0
    # CE(0.8) + log(1 − ⟨(0.4, 0.1), (0.8, 0.2)⟩) = −log 0.8 + log(0.66)
    assert loss.item() == pytest.approx(-math.log(0.8) + math.log(1 - 0.34), rel=1e-5)


def test_facility_location_on_tensors_matches_the_numpy_reference() -> None:
    points = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    medoids, weights = selection.facility_location(torch.tensor(points), 2)
    ref_medoids, ref_weights = B.facility_location(points, 2)
    assert medoids.tolist() == ref_medoids.tolist() == [2, 4]
    assert weights.tolist() == ref_weights.tolist() == [3.0, 3.0]
    # CRUST's gradient estimates p − onehot: class 0 has 2 confident and 1 wrong sample
    logits = torch.log(torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.2, 0.8]]))
    selected, weight = selection.crust_selection(logits, torch.tensor([0, 0, 0, 1]), 2, fraction=0.5)
    # class 0: 2 medoids of 3: first a confident one (index 0, first of the tie), then the wrong one
    assert selected.tolist() == [True, False, True, True]
    assert weight.tolist() == [2.0, 0.0, 1.0, 1.0]


def test_fine_keeps_a_class_with_one_sample() -> None:
    scores = np.array([0.9, 0.8, 0.95, 0.1, 0.5])
    labels = np.array([0, 0, 0, 0, 1])
    assert B.fine_clean_mask(scores, labels)[4]


RUN_SETTINGS = {"epochs": 2, "batch_size": 16, "lr": 0.02, "momentum": 0.9, "weight_decay": 1e-3,
                "base_width": 4, "eval_batch_size": 32, "schedule": "multistep", "milestones": [1],
                "gamma": 0.01, "label_noise": SYMM50, "select_warmup_epochs": 1, "coteach_num_gradual": 2,
                "als_warmup_epochs": 1, "report_last_epochs": 2}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cifar")
    write_fake_cifar(root, "cifar10", 48, 16, seed=0)
    return root


def run_method(tmp: Path, data_dir: Path, **settings) -> pd.DataFrame:
    spec = {"trainer": "alasca", "scale": "smoke", "settings": {**RUN_SETTINGS, **settings}, "seeds": [0],
            "inputs": {}}
    runtime = Runtime(device="cpu", data_dir=str(data_dir), download=False, verify_data=False,
                      checkpoint_dir=str(tmp / "ckpt"), checkpoint_every_s=0.0, progress="none")
    loop.train(Job(spec=spec, runtime=runtime, out_dir=tmp / "out"))
    return pd.read_csv(tmp / "out/seed-0/metrics.csv")


@pytest.mark.parametrize("alasca", [False, True])
@pytest.mark.parametrize("method", ["gce", "sce", "elr", "coteaching", "crust", "fine"])
def test_each_row_runs_finite_at_the_paper_learning_rate(tmp_path: Path, data_dir: Path, method: str,
                                                         alasca: bool) -> None:
    rows = run_method(tmp_path, data_dir, method=method, alasca=alasca)
    assert rows["epoch"].tolist() == [1, 2]
    assert np.isfinite(rows["loss"]).all() and rows["test_acc"].between(0, 1).all()
    if method in ("coteaching", "crust", "fine"):
        assert rows["select_f1"].between(0, 1).all()
    if method in ("crust", "fine"):
        assert math.isnan(rows["selected_frac"].iloc[0]) and 0 < rows["selected_frac"].iloc[1] <= 1
    if method == "crust":
        assert rows["selected_frac"].iloc[1] == pytest.approx(0.5, abs=0.1)
    if method == "coteaching":
        assert rows["test_acc_net1"].between(0, 1).all()
    assert ("alpha_clean" in rows) == alasca
