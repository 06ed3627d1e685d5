"""Seed 004's MLP trainer pieces: batched networks = separate networks; splits; the selection step."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from labelrepro.core.config import ConfigError, settings_from_dict
from labelrepro.core.seeding import make_generator
from labelrepro.papers.relaxation.batched_mlp import BatchedMLP
from labelrepro.papers.relaxation.methods import METHODS
from labelrepro.papers.relaxation.selection import relax_reliability, relax_selection
from labelrepro.papers.relaxation.settings import RelaxSettings
from labelrepro.papers.relaxation.trainer import split_indices


def _settings(**overrides):
    values = {"dataset": "mnist", "phase": "select", "epochs": 2, "lr": 0.05, **overrides}
    return settings_from_dict(RelaxSettings, values, "test")


def test_batched_mlp_follows_separate_networks():
    """Three runs (CE, LS 0.1, LR 0.2) trained together = each trained alone with nn.Linear + SGD."""
    sizes = BatchedMLP.layer_sizes(12, 16, 2, 4)
    gens = [make_generator(0, "t"), make_generator(1, "t"), make_generator(2, "t")]
    model = BatchedMLP.initialise(gens, sizes, "glorot")
    combos = [("ce", 0.0), ("ls", 0.1), ("lr", 0.2)]
    references = []
    for r in range(3):
        layers = []
        for w, b in zip(model.weights, model.biases, strict=True):
            linear = torch.nn.Linear(w.shape[1], w.shape[2])
            with torch.no_grad():
                linear.weight.copy_(w[r].T)
                linear.bias.copy_(b[r])
            layers += [linear, torch.nn.ReLU()]
        references.append(torch.nn.Sequential(*layers[:-1]))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    ref_opts = [torch.optim.SGD(n.parameters(), lr=0.1, momentum=0.9, nesterov=True) for n in references]
    gen = torch.Generator().manual_seed(5)
    for _ in range(5):
        x = torch.randn(3, 8, 12, generator=gen)
        y = torch.randint(0, 4, (3, 8), generator=gen)
        logits = model(x)
        loss = sum(METHODS[m].loss(logits[r], y[r], s).mean() for r, (m, s) in enumerate(combos))
        opt.zero_grad()
        loss.backward()
        opt.step()
        for r, (m, s) in enumerate(combos):
            ref_opts[r].zero_grad()
            METHODS[m].loss(references[r](x[r]), y[r], s).mean().backward()
            ref_opts[r].step()
    x = torch.randn(3, 20, 12, generator=gen)
    out = model(x)
    for r in range(3):
        torch.testing.assert_close(out[r], references[r](x[r]), atol=1e-5, rtol=1e-5)


def test_glorot_init_bounds_and_replication():
    sizes = BatchedMLP.layer_sizes(784, 1024, 2, 10)
    model = BatchedMLP.initialise([make_generator(0, "i")], sizes, "glorot", replicate=3)
    assert [tuple(w.shape) for w in model.weights] == [(3, 784, 1024), (3, 1024, 1024), (3, 1024, 10)]
    assert model.weights[0].abs().max() <= math.sqrt(6 / (784 + 1024))
    assert torch.equal(model.weights[1][0], model.weights[1][2]) and (model.biases[0] == 0).all()
    parameters = sum(p[0].numel() for p in model.parameters())
    assert parameters == 784 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 10 + 10  # 1,863,690


def test_splits_are_disjoint_and_sized_as_the_authors():
    final = split_indices(70000, 3, _settings(phase="final"))
    select = split_indices(70000, 3, _settings(phase="select"))
    assert len(final[1]) == 10000 and len(final[0]) == 60000  # 1/7 of the merged 70k is the test part
    assert len(select[0]) == 45000 and len(select[1]) == 15000  # 25% of the training part validates
    assert set(select[0].tolist()) | set(select[1].tolist()) == set(final[0].tolist())
    assert not set(select[1].tolist()) & set(final[1].tolist())  # validation never touches the test part


def test_settings_errors_name_the_problem():
    with pytest.raises(ConfigError, match="unknown label-relaxation loss 'mse'"):
        _settings(methods=["ce", "mse"])
    with pytest.raises(ConfigError, match="strengths"):
        _settings(strengths=[0.0])
    assert _settings(methods=["ce", "lr"], strengths=[0.1, 0.2]).combos() == [
        ("ce", 0.0), ("lr", 0.1), ("lr", 0.2)]


def _curves() -> pd.DataFrame:
    """Two seeds, CE and LR at 0.1/0.2; validation prefers 0.2 for seed 0 and ties for seed 1."""
    rows = []
    val = {(0, 0.1): 0.8, (0, 0.2): 0.9, (1, 0.1): 0.7, (1, 0.2): 0.7}
    for seed in (0, 1):
        for method, strength in (("ce", 0.0), ("lr", 0.1), ("lr", 0.2)):
            for phase in ("select", "final"):
                acc = val.get((seed, strength), 0.5) if phase == "select" else 0.6 + strength + seed / 100
                for epoch in (1, 2):
                    rows.append({"cell": f"{phase}", "dataset": "mnist", "phase": phase, "seed": seed,
                                 "model": "mlp", "method": method, "strength": strength, "epoch": epoch,
                                 "acc": acc if epoch == 2 else 0.0, "ece": 0.01, "nll": 0.3,
                                 "rel_count_0": 10.0, "rel_conf_0": 4.0, "rel_correct_0": 5.0,
                                 "rel_count_1": 30.0, "rel_conf_1": 27.0, "rel_correct_1": 24.0})
    return pd.DataFrame(rows)


def test_selection_uses_validation_and_reports_the_final_run():
    chosen = relax_selection(_curves())
    lr = chosen[chosen["method"] == "lr"].set_index("seed")
    assert lr.loc[0, "strength"] == 0.2 and lr.loc[0, "test_acc"] == pytest.approx(0.8)
    assert lr.loc[1, "strength"] == 0.1 and lr.loc[1, "test_acc"] == pytest.approx(0.71)  # tie: smaller
    assert list(chosen["method"]) == ["ce", "ce", "lr", "lr"]
    bins = relax_reliability(_curves())
    lr_bins = bins[bins["method"] == "lr"].set_index("bin")
    assert lr_bins.loc[0, "count"] == 20 and lr_bins.loc[0, "accuracy"] == pytest.approx(0.5)
    assert lr_bins.loc[1, "confidence"] == pytest.approx(0.9) and lr_bins.loc[1, "upper"] == 1.0


def test_selection_needs_both_phases():
    curves = _curves()
    with pytest.raises(ValueError, match="phase: final"):
        relax_selection(curves[curves["phase"] == "select"])
