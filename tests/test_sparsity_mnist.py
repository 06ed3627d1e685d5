"""Seed 003 §6.4 / Appendix F: Eq. 3's multi-label logistic loss and its gradient, the batched 784-H-10
step, digit association, and the MNIST trainer on a tiny on-disk MNIST stand-in."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from labelrepro.data.fake import write_fake_dataset
from labelrepro.engine.job import Job
from labelrepro.engine.loop import train
from labelrepro.engine.runtime import Runtime
from labelrepro.papers.sparsity import aggregate, mnist


def test_multi_logistic_loss_and_gradient_by_hand():
    # outputs (2, -1, 0, ...) with label 0: targets (+1, -1, -1, ...):
    # loss = log(1 + e^-2) + log(1 + e^-1) + 8 log 2 = 0.126928 + 0.313262 + 5.545177 = 5.985367
    out = torch.zeros(10)
    out[0], out[1] = 2.0, -1.0
    targets = mnist.signed_targets(torch.tensor(0))
    assert targets.tolist() == [1.0] + [-1.0] * 9
    loss = mnist.multi_logistic_loss(out, targets)
    assert loss.item() == pytest.approx(math.log1p(math.exp(-2)) + math.log1p(math.exp(-1)) + 8 * math.log(2))
    assert loss.item() == pytest.approx(5.985367, abs=2e-6)
    # dL/dN_i = -y_i sigmoid(-y_i N_i): -sigmoid(-2) = -0.119203, sigmoid(-1) = 0.268941, 0.5 elsewhere
    leaf = out.clone().requires_grad_(True)
    mnist.multi_logistic_loss(leaf, targets).backward()
    assert leaf.grad[0].item() == pytest.approx(-0.119203, abs=1e-6)
    assert leaf.grad[1].item() == pytest.approx(0.268941, abs=1e-6)
    assert leaf.grad[2:].tolist() == [0.5] * 8


def test_batched_step_matches_autograd():
    torch.manual_seed(0)
    r, d, hidden, lr = 3, 7, 5, 0.1
    w1, b1 = torch.randn(r, hidden, d), torch.randn(r, hidden)
    w2, b2 = torch.randn(r, 10, hidden), torch.randn(r, 10)
    x, labels = torch.rand(r, d), torch.tensor([3, 0, 9])
    targets = mnist.signed_targets(labels)
    params = [p.clone().requires_grad_(True) for p in (w1, b1, w2, b2)]
    z = torch.einsum("rhd,rd->rh", params[0], x) + params[1]
    out = torch.einsum("rch,rh->rc", params[2], torch.relu(z)) + params[3]
    mnist.multi_logistic_loss(out, targets).sum().backward()
    net = mnist.BatchedMlp10(w1.clone(), b1.clone(), w2.clone(), b2.clone(), bias=True)
    net.sgd_step(x, targets, lr)
    for got, p in zip((net.w1, net.b1, net.w2, net.b2), params, strict=True):
        assert torch.allclose(got, p.detach() - lr * p.grad, atol=1e-5)


def test_digit_association_by_hand():
    counts = torch.tensor([
        [10.0, 5, 0, 0, 0, 0, 0, 0, 0, 0],   # 10 >= 2 * 5: digit 0
        [10.0, 6, 0, 0, 0, 0, 0, 0, 0, 0],   # 10 < 12: none
        [0.0] * 10,                          # never fires: none
        [0, 0, 0, 0, 0, 0, 0, 3.0, 0, 0],    # only digit 7
    ])
    assert mnist.digit_association(counts).tolist() == [0, -1, -1, 7]


def test_lr_halving_and_init_bounds():
    assert mnist.init_bounds("torch", 784) == (1 / 28, 1 / 28)
    assert mnist.init_bounds("fan_in", 3) == (1.0, 0.0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("mnist")
    write_fake_dataset(root / "data", "mnist", 200, 100)
    settings = {"epochs": 2, "hidden": 16, "halve_every": 1, "eval_train_subset": 50, "histogram_neurons": 5}
    spec = {"trainer": "sparsity_mnist", "scale": "smoke", "settings": settings, "seeds": [0], "inputs": {}}
    runtime = Runtime(device="cpu", checkpoint_dir=str(root / "ckpt"), progress="none",
                      data_dir=str(root / "data"), download=False)
    train(Job(spec=spec, runtime=runtime, out_dir=root / "out"))
    return pd.read_csv(root / "out/seed-0/metrics.csv")


def test_trainer_rows(trained):
    epochs = trained[trained["kind"] == "epoch"]
    neurons = trained[trained["kind"] == "neuron"]
    assert len(epochs) == 2 * 3 and sorted(epochs["label_noise"].unique()) == [0.0, 0.1]
    assert epochs["lr"].tolist()[::2] == [0.01, 0.01, 0.005]  # epoch 0 (init), 1, 2: halved after epoch 1
    assert epochs["active_frac_train"].between(0, 1).all() and epochs["test_error"].between(0, 1).all()
    assert len(neurons) == 2 * 16 and neurons["in_sample"].astype(str).str.lower().eq("true").sum() == 10
    summary = aggregate.mnist_summary(trained.assign(cell="default"))
    assert len(summary) == 2 and summary["hidden"].eq(16).all() and summary["sample_size"].eq(5).all()
    assert (summary["associated"] >= summary["associated_sample"]).all()
