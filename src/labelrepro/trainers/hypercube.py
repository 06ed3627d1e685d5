"""Seed 003 §6.3: one-hidden-layer ReLU nets on the hypercube boundary task, SGD at batch size 1.

Each run draws its own training set (n_train points of D = 1/2 U(C_1) + 1/2 U(C_-1)), its own test set,
its own initialisation and its own SGD stream from its seed. At every step a training point is drawn
uniformly (with replacement) and, with probability `label_noise`, its label is replaced by a uniform
random label (seed 003 §3; `noise_mode: flip` gives the Appendix-A reading instead). All runs of a job
advance together through `BatchedReluNet`.

Every `eval_every` steps the job records, per run: clean training error, test error, the typical number
of active hidden neurons (Definition 1) on the training and the test set, the training loss and weight
norms. State is checkpointed between evaluation periods, so a killed job resumes where it stopped and
ends with exactly the numbers of an uninterrupted run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
import torch

from labelrepro import metrics
from labelrepro.config import settings_from_dict
from labelrepro.core.seeding import make_generator
from labelrepro.data.synthetic import hypercube_boundary_dataset
from labelrepro.models.batched_mlp import BatchedReluNet
from labelrepro.noise import flip_labels_per_step, resample_labels_per_step
from labelrepro.trainers.job import Job

BINARY_CLASSES = torch.tensor([-1.0, 1.0])


@dataclass(frozen=True)
class Settings:
    """Hyperparameters of the hypercube experiment (paper values in workflow/experiments/)."""

    d: int
    hidden: int
    n_train: int
    n_test: int
    eps: float
    lr: float
    steps: int
    eval_every: int
    label_noise: float = 0.0
    noise_mode: Literal["resample", "flip"] = "resample"
    bias: bool = True
    init_scale: Literal["unit", "fan_in"] = "unit"

    def __post_init__(self) -> None:
        for name in ("d", "hidden", "n_train", "n_test", "steps", "eval_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.label_noise <= 1.0:
            raise ValueError(f"label_noise must lie in [0, 1], got {self.label_noise}")
        if not 0.0 < self.eps < 1.0:
            raise ValueError(f"eps must lie in (0, 1), got {self.eps}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


@dataclass
class RunData:
    """Stacked per-run datasets: (R, n, d) inputs and (R, n) labels in {-1, +1}."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def make_data(settings: Settings, seeds: list[int], device: torch.device) -> RunData:
    parts: list[list[torch.Tensor]] = [[], [], [], []]
    for seed in seeds:
        gen = make_generator(seed, "hypercube-data")
        x, y = hypercube_boundary_dataset(settings.n_train, settings.d, settings.eps, gen)
        xt, yt = hypercube_boundary_dataset(settings.n_test, settings.d, settings.eps, gen)
        for store, value in zip(parts, (x, y, xt, yt), strict=True):
            store.append(value)
    return RunData(*(torch.stack(p).to(device) for p in parts))


def make_model(settings: Settings, seeds: list[int], device: torch.device) -> BatchedReluNet:
    generators = [make_generator(seed, "hypercube-init") for seed in seeds]
    return BatchedReluNet.initialise(
        generators, settings.d, settings.hidden, settings.bias, settings.init_scale, device
    )


def draw_chunk(
    settings: Settings, data: RunData, generators: list[torch.Generator], length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample indices and (noisy) labels for the next `length` SGD steps of every run.

    Drawing a chunk per evaluation period keeps the random streams identical whatever the batching
    and lets a checkpoint capture them exactly at period boundaries.
    """
    xs, ys = [], []
    for r, gen in enumerate(generators):
        idx = torch.randint(0, settings.n_train, (length,), generator=gen)
        clean = data.y_train[r].cpu()[idx]
        if settings.noise_mode == "resample":
            noisy = resample_labels_per_step(clean, settings.label_noise, gen, classes=BINARY_CLASSES)
        else:
            noisy = flip_labels_per_step(clean, settings.label_noise, gen)
        xs.append(data.x_train[r, idx.to(data.x_train.device)])
        ys.append(noisy)
    device = data.x_train.device
    return torch.stack(xs, 1), torch.stack(ys, 1).to(device)  # (length, R, d), (length, R)


@torch.no_grad()
def evaluate(model: BatchedReluNet, data: RunData) -> dict[str, torch.Tensor]:
    """Per-run metrics (each a tensor of shape (R,))."""
    z_train = model.preactivations(data.x_train)
    z_test = model.preactivations(data.x_test)
    out_train = model.forward_from_preactivations(z_train)
    out_test = model.forward_from_preactivations(z_test)
    return {
        "train_error": metrics.binary_error(out_train, data.y_train),
        "test_error": metrics.binary_error(out_test, data.y_test),
        "train_loss": metrics.logistic_loss(out_train, data.y_train),
        "active_train": metrics.typical_active_neurons(z_train),
        "active_test": metrics.typical_active_neurons(z_test),
        "w1_norm": model.w1.flatten(1).norm(dim=1).double(),
        "w2_norm": model.w2.norm(dim=1).double(),
        "b1_mean": model.b1.mean(dim=1).double(),
    }


def rows_at(step: int, settings: Settings, seeds: list[int], values: dict[str, torch.Tensor]) -> list[dict]:
    cpu = {k: v.cpu().tolist() for k, v in values.items()}
    return [
        {
            "seed": seed,
            "step": step,
            "epoch": step / settings.n_train,
            **{k: cpu[k][r] for k in cpu},
            "active_frac_train": cpu["active_train"][r] / settings.hidden,
        }
        for r, seed in enumerate(seeds)
    ]


def train(job: Job) -> None:
    """Train every seed of the job together and write one metrics CSV per run."""
    settings = settings_from_dict(Settings, job.spec["settings"], job.label)
    seeds = job.seeds
    device = job.device
    data = make_data(settings, seeds, device)
    model = make_model(settings, seeds, device)
    generators = [make_generator(seed, "hypercube-sgd") for seed in seeds]

    checkpointer = job.checkpointer()
    rows: list[dict] = []
    step = 0
    state = checkpointer.load()
    if state is not None:
        model.load_state(state["model"])
        for gen, gen_state in zip(generators, state["generators"], strict=True):
            gen.set_state(gen_state)
        rows, step = state["rows"], state["step"]
    else:
        rows = rows_at(0, settings, seeds, evaluate(model, data))

    periods = -(-settings.steps // settings.eval_every)
    progress = job.progress(total=periods, unit="period", start=step // settings.eval_every)
    if state is not None:
        progress.message(f"resumed from checkpoint at step {step} ({checkpointer.path})")
    lr = settings.lr
    while step < settings.steps:
        length = min(settings.eval_every, settings.steps - step)
        xs, ys = draw_chunk(settings, data, generators, length)
        for k in range(length):
            model.sgd_step_logistic(xs[k], ys[k], lr)
        step += length
        values = evaluate(model, data)
        rows.extend(rows_at(step, settings, seeds, values))
        progress.update(
            1,
            step=step,
            test_err=values["test_error"].mean().item(),
            train_err=values["train_error"].mean().item(),
            active=values["active_train"].mean().item(),
        )
        if checkpointer.due() or step >= settings.steps:
            checkpointer.save(
                {
                    "model": model.state(),
                    "generators": [g.get_state() for g in generators],
                    "rows": rows,
                    "step": step,
                }
            )
    progress.close()
    frame = pd.DataFrame(rows)
    job.write_runs(
        {seed: frame[frame["seed"] == seed].reset_index(drop=True) for seed in seeds},
        extra={"runs_batched": len(seeds)},
    )
    checkpointer.clear()


def reference_run(settings: Settings, seed: int, device: torch.device | str = "cpu") -> dict[str, float]:
    """The same run as `train`, written as a plain per-run PyTorch loop (nn.Sequential + optim.SGD).

    Consumes exactly the same random streams, so its final metrics must match the batched trainer's.
    It is the baseline of `benchmarks/bench_hypercube_trainer.py` and the oracle of the equivalence test.
    """
    device = torch.device(device)
    data = make_data(settings, [seed], device)
    init = make_model(settings, [seed], device)
    net = torch.nn.Sequential(
        torch.nn.Linear(settings.d, settings.hidden, bias=settings.bias),
        torch.nn.ReLU(),
        torch.nn.Linear(settings.hidden, 1, bias=settings.bias),
    ).to(device)
    with torch.no_grad():
        net[0].weight.copy_(init.w1[0])
        net[2].weight.copy_(init.w2[0].unsqueeze(0))
        if settings.bias:
            net[0].bias.copy_(init.b1[0])
            net[2].bias.copy_(init.b2[0].reshape(1))
    optimizer = torch.optim.SGD(net.parameters(), lr=settings.lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    generator = make_generator(seed, "hypercube-sgd")
    step = 0
    while step < settings.steps:
        length = min(settings.eval_every, settings.steps - step)
        xs, ys = draw_chunk(settings, data, [generator], length)
        for k in range(length):
            optimizer.zero_grad(set_to_none=True)
            out = net(xs[k])  # (1, 1)
            loss = loss_fn(out.squeeze(1), (ys[k] + 1) / 2)
            loss.backward()
            optimizer.step()
        step += length
    with torch.no_grad():
        state = {
            "w1": net[0].weight.unsqueeze(0),
            "w2": net[2].weight,
            "b1": (net[0].bias if settings.bias else torch.zeros(settings.hidden, device=device))[None],
            "b2": (net[2].bias if settings.bias else torch.zeros(1, device=device)).reshape(1),
        }
        model = BatchedReluNet(state["w1"], state["b1"], state["w2"], state["b2"], settings.bias)
        return {k: v.item() for k, v in evaluate(model, data).items()}
