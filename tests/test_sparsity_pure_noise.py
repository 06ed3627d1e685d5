"""Seed 003 §5-6.2 and Theorems 3-4: hand-computed SGD steps, the Theorem-4 dynamics on a 2 x 2 example,
batching invariance of the pure-noise trainers and their aggregators."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from labelrepro.core.config import ConfigError, settings_from_dict
from labelrepro.engine.job import Job
from labelrepro.engine.loop import train
from labelrepro.engine.runtime import Runtime
from labelrepro.papers.sparsity import aggregate, theorem4
from labelrepro.papers.sparsity.batched_mlp import BatchedReluNet, loss_derivative
from labelrepro.papers.sparsity.pure_noise import LinearNeuron
from labelrepro.papers.sparsity.settings import PureNoiseSettings, Theorem4Settings


def make_job(tmp_path, trainer, settings, seeds, name="out") -> Job:
    spec = {"trainer": trainer, "scale": "smoke", "settings": settings, "seeds": list(seeds), "inputs": {}}
    runtime = Runtime(device="cpu", checkpoint_dir=str(tmp_path / f"ckpt-{name}"), progress="none")
    return Job(spec=spec, runtime=runtime, out_dir=tmp_path / name)


def test_single_neuron_hinge_step_by_hand():
    # v = (1, -2), x = (1, 1): N = -1. y = +1 misclassifies -> hinge(beta=0) gradient dL/dN = -y = -1,
    # v <- v - h * (-1) * x = (1.5, -1.5) at h = 0.5. y = -1 classifies correctly -> no change.
    neuron = LinearNeuron(torch.tensor([[1.0, -2.0], [1.0, -2.0]]))
    x = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    neuron.sgd_step(x, torch.tensor([1.0, -1.0]), 0.5, torch.tensor([True, True]), 0.0)
    assert torch.allclose(neuron.v, torch.tensor([[1.5, -1.5], [1.0, -2.0]]))


def test_single_neuron_cross_entropy_step_by_hand():
    # Same point, logistic loss: dL/dN = -y sigmoid(-y N) = -sigmoid(1) = -0.7310585786 (y = +1);
    # v <- v + 0.5 * 0.7310585786 * (1, 1) = (1.3655293, -1.6344707).
    # y = -1: dL/dN = sigmoid(-1) = 0.2689414214, v <- v - 0.5 * 0.2689414214 * (1, 1).
    neuron = LinearNeuron(torch.tensor([[1.0, -2.0], [1.0, -2.0]]))
    x = torch.ones(2, 2)
    neuron.sgd_step(x, torch.tensor([1.0, -1.0]), 0.5, torch.tensor([False, False]), 0.0)
    expected = torch.tensor([[1.3655293, -1.6344707], [0.8655293, -2.1344707]])
    assert torch.allclose(neuron.v, expected, atol=1e-6)


def test_loss_derivative_kink_and_beta():
    out, y = torch.tensor([0.0, 0.5, 0.5, 2.0]), torch.tensor([1.0, 1.0, -1.0, 1.0])
    hinge = torch.ones(4, dtype=torch.bool)
    assert loss_derivative(out, y, hinge, 0.0).tolist() == [0.0, 0.0, 1.0, 0.0]  # kink: 0
    assert loss_derivative(out, y, hinge, 1.0).tolist() == [-1.0, -1.0, 1.0, 0.0]  # margin below beta = 1


def test_mixed_loss_mlp_step_matches_autograd():
    torch.manual_seed(1)
    r, hidden, d, lr = 4, 5, 3, 0.05
    w1, b1, w2, b2 = torch.randn(r, hidden, d), torch.randn(r, hidden), torch.randn(r, hidden), torch.randn(r)
    x, y = torch.randn(r, d), torch.tensor([1.0, -1.0, 1.0, -1.0])
    hinge = torch.tensor([True, True, False, False])
    params = [p.clone().requires_grad_(True) for p in (w1, b1, w2, b2)]
    out = (torch.relu(torch.einsum("rhd,rd->rh", params[0], x) + params[1]) * params[2]).sum(-1) + params[3]
    losses = torch.where(hinge, torch.relu(-y * out), torch.nn.functional.softplus(-y * out))
    losses.sum().backward()
    net = BatchedReluNet(w1.clone(), b1.clone(), w2.clone(), b2.clone(), bias=True)
    net.sgd_step(x, y, lr, hinge, 0.0)
    for got, p in zip((net.w1, net.b1, net.w2, net.b2), params, strict=True):
        assert torch.allclose(got, p.detach() - lr * p.grad, atol=1e-6)


def test_theorem4_two_by_two_dynamics_by_hand():
    # k = 1: two hidden units, V = (1, -1); d = 2. W = [[0.5, -0.3], [0.2, 0.4]] (rows = units), stored
    # transposed: columns[j] = W[:, j]. N(e_1) = 0.5 - 0.2 = 0.3, N(e_2) = 0 - 0.4 = -0.4.
    columns = torch.tensor([[[0.5, 0.2], [-0.3, 0.4]]])
    v, lr = theorem4.output_weights(1), torch.tensor([0.25])
    # (e_1, y = -1): y N = -0.3 < 0 -> W[:, 1] += h y V 1(W > 0) = (-0.25, +0.25) -> (0.25, 0.45).
    theorem4.hinge_step(columns, v, torch.tensor([0]), torch.tensor([-1.0]), lr)
    assert torch.allclose(columns, torch.tensor([[[0.25, 0.45], [-0.3, 0.4]]]))
    # (e_2, y = +1): y N = -0.4 < 0 -> only the live unit 2 moves: (-0.3, 0.4 - 0.25) = (-0.3, 0.15).
    theorem4.hinge_step(columns, v, torch.tensor([1]), torch.tensor([1.0]), lr)
    assert torch.allclose(columns, torch.tensor([[[0.25, 0.45], [-0.3, 0.15]]]))
    # (e_2, y = -1): y N = 0.15 > 0 -> no change.
    theorem4.hinge_step(columns, v, torch.tensor([1]), torch.tensor([-1.0]), lr)
    assert torch.allclose(columns, torch.tensor([[[0.25, 0.45], [-0.3, 0.15]]]))
    m = theorem4.column_metrics(columns, v, lr, 1)
    # zero coordinates: e_1 none, e_2 one -> mean 1/4, max 1/2; |N| = 0.2 and 0.15 -> max/(2kh) = 0.4.
    assert m["zero_frac_mean"].item() == pytest.approx(0.25) and m["zero_frac_max"].item() == 0.5
    assert m["thm3_ratio"].item() == pytest.approx(0.4) and m["none_dead"].item() == 1.0


def test_theorem4_large_rate_kills_a_column_in_three_encounters():
    # The proof of Theorem 4.1 at h = 1: (0.5, 0.2), N = 0.3. y = -1 -> (-0.5, 1.2); y = +1 -> (-0.5, 0.2);
    # y = +1 -> (-0.5, -0.8): ReLU(W e_1) = 0.
    columns, v, lr = torch.tensor([[[0.5, 0.2]]]), theorem4.output_weights(1), torch.tensor([1.0])
    for label, expected in ((-1.0, [-0.5, 1.2]), (1.0, [-0.5, 0.2]), (1.0, [-0.5, -0.8])):
        theorem4.hinge_step(columns, v, torch.tensor([0]), torch.tensor([label]), lr)
        assert torch.allclose(columns[0, 0], torch.tensor(expected))
    m = theorem4.column_metrics(columns, v, lr, 1)
    assert m["all_dead"].item() == 1.0 and m["dead_inputs"].item() == 1.0


def test_rate_rules():
    settings = Theorem4Settings(d=3, ks=(4,), steps=1, eval_every=1, lrs=(1.0, 2.0), lrs_times_k=(0.25,))
    assert theorem4.rate_rules(settings, 4) == [("h=1", 1.0), ("h=2", 2.0), ("h=0.25/k", 0.0625)]


def test_bad_settings_name_the_key():
    with pytest.raises(ConfigError, match="losses"):
        settings_from_dict(PureNoiseSettings, {"d": 3, "lrs": [0.1], "steps": 1, "eval_every": 1,
                                               "losses": ["softmax"]}, "x")
    with pytest.raises(ConfigError, match="bias"):
        settings_from_dict(PureNoiseSettings, {"d": 3, "lrs": [0.1], "steps": 1, "eval_every": 1,
                                               "model": "neuron", "bias": True}, "x")


MLP = {"d": 4, "hidden": 6, "lrs": [0.05, 0.2], "steps": 120, "eval_every": 40, "bias": True, "n_eval": 50}
THM4 = {"d": 3, "ks": [1, 4], "steps": 90, "eval_every": 30, "lrs": [1.0], "lrs_times_k": [0.5]}


@pytest.mark.parametrize("trainer,settings", [("sparsity_noise", MLP), ("sparsity_thm4", THM4),
                                              ("sparsity_noise", {**MLP, "model": "neuron", "bias": False})])
def test_a_run_does_not_depend_on_its_batch(tmp_path, trainer, settings):
    train(make_job(tmp_path, trainer, settings, (0, 1), "both"))
    train(make_job(tmp_path, trainer, settings, (1,), "alone"))
    both = pd.read_csv(tmp_path / "both/seed-1/metrics.csv")
    alone = pd.read_csv(tmp_path / "alone/seed-1/metrics.csv")
    pd.testing.assert_frame_equal(both, alone)


def test_pure_noise_rows_and_summary(tmp_path):
    train(make_job(tmp_path, "sparsity_noise", MLP, (0, 1)))
    rows = pd.concat([pd.read_csv(tmp_path / f"out/seed-{s}/metrics.csv") for s in (0, 1)])
    assert set(rows["loss"]) == {"hinge", "logistic"} and rows["step"].max() == 120
    start = rows[rows["step"] == 0]
    # paired: every rate and loss of a seed starts from the same network
    assert len(start) == 8 and start.groupby("seed")["w1_norm"].nunique().eq(1).all()
    assert (rows["b1_q00"] <= rows["b1_q50"]).all() and (rows["b1_q50"] <= rows["b1_q100"]).all()
    summary = aggregate.pure_noise_summary(rows.assign(cell="default"))
    assert len(summary) == 8 and summary["pred_dh"].eq(4 * summary["lr"]).all()
    hinge = summary[(summary["loss"] == "hinge") & (summary["lr"] == 0.05)].iloc[0]
    assert hinge["pred_stationary"] == pytest.approx(math.sqrt(2 * math.pi) * 0.2 / 4)
    logistic = summary[(summary["loss"] == "logistic") & (summary["lr"] == 0.2)].iloc[0]
    assert logistic["pred_stationary"] == pytest.approx(math.sqrt(4 * 0.2 / 2))


def test_wilson_interval_by_hand():
    lo, hi = aggregate.wilson_interval(10, 10)
    assert lo == pytest.approx(0.7225, abs=1e-4) and hi == 1.0
    lo, hi = aggregate.wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)


def test_theorem4_summary(tmp_path):
    train(make_job(tmp_path, "sparsity_thm4", THM4, (0, 1, 2)))
    rows = pd.concat([pd.read_csv(tmp_path / f"out/seed-{s}/metrics.csv") for s in (0, 1, 2)])
    summary = aggregate.theorem4_summary(rows.assign(cell="default"))
    assert len(summary) == 4 and summary["runs"].eq(3).all()
    assert summary["all_dead"].between(0, 1).all()
    assert (summary["all_dead_lo"] <= summary["all_dead"]).all()
    # h = 1 kills every column (Theorem 4.1 holds for every k, even k = 1, once each e_i was seen
    # three times with a misclassifying label; 90 steps over 3 inputs is plenty here)
    assert summary[summary["rule"] == "h=1"]["all_dead"].eq(1.0).all()
