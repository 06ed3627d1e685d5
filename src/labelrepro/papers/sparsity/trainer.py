"""Seed 003 §6.3: one-hidden-layer ReLU nets on the hypercube boundary task, SGD at batch size 1.

Each run draws its own training set (n_train points of D = 1/2 U(C_1) + 1/2 U(C_-1)), its own test set,
its own initialisation and its own SGD stream from its seed. At every step a training point is drawn
uniformly (with replacement) and, with probability `label_noise`, its label is replaced by a uniform
random label (seed 003 §3; `noise_mode: flip` gives the Appendix-A reading instead). All runs of a job
advance together through `BatchedReluNet` (`SparsityRun`, `batch_seeds = True`).

Every `eval_every` steps the job records, per run: clean training error, test error, the typical number
of active hidden neurons (Definition 1) on the training and the test set, the training loss and weight
norms. Every run trains for all `steps` (the curves go to the end); its rows also carry `stop_step`,
the step at which the paper's stopping rule (`stopping.py`: zero clean training error, then a stable
test error) was first met (empty if never), and `stopped` (this row is at or after it); the aggregate
reports each run at its `stop_step`. One unit of `labelrepro.engine.loop` is one evaluation period (the
last one may be shorter); state is checkpointed between periods, so a killed job resumes where it
stopped and ends with exactly the numbers of an uninterrupted run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from labelrepro.core.seeding import make_generator
from labelrepro.data.noise import flip_labels_per_step, resample_labels_per_step
from labelrepro.data.synthetic import hypercube_boundary_dataset
from labelrepro.engine.job import Job
from labelrepro.engine.loop import Run, SeedOutput, set_generator_states
from labelrepro.papers.sparsity import metrics, stopping
from labelrepro.papers.sparsity.batched_mlp import BatchedReluNet
from labelrepro.papers.sparsity.settings import SparsitySettings as Settings

BINARY_CLASSES = torch.tensor([-1.0, 1.0])


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


def stop_steps(settings: Settings, rows: list[dict], seeds: list[int]) -> dict[int, int | None]:
    """Per seed: the step of the first evaluation that meets the stopping rule, or None."""
    result: dict[int, int | None] = {}
    for seed in seeds:
        own = [row for row in rows if row["seed"] == seed]
        index = stopping.stopping_index(
            [row["train_error"] for row in own], [row["test_error"] for row in own],
            settings.stop_window, settings.stop_tolerance,
        )
        result[seed] = None if index is None else own[index]["step"]
    return result


class SparsityRun(Run):
    """All seeds of the job trained together; one unit is one evaluation period of SGD steps."""

    unit = "period"
    batch_seeds = True

    def __init__(self, job: Job, seeds: list[int]) -> None:
        super().__init__(job, seeds)
        settings: Settings = self.settings
        device = job.device
        self.data = make_data(settings, seeds, device)
        self.model = make_model(settings, seeds, device)
        self.generators = [make_generator(seed, "hypercube-sgd") for seed in seeds]
        self.total = math.ceil(settings.steps / settings.eval_every)
        self.rows: list[dict] = rows_at(0, settings, seeds, evaluate(self.model, self.data))

    def step(self) -> int:
        """SGD steps done (every period but the last has `eval_every` of them)."""
        return min(self.position * self.settings.eval_every, self.settings.steps)

    def advance(self) -> dict[str, float]:
        settings = self.settings
        step = self.step()
        length = min(settings.eval_every, settings.steps - step)
        xs, ys = draw_chunk(settings, self.data, self.generators, length)
        for k in range(length):
            self.model.sgd_step_logistic(xs[k], ys[k], settings.lr)
        step += length
        values = evaluate(self.model, self.data)
        self.rows.extend(rows_at(step, settings, self.seeds, values))
        return {
            "step": step,
            "test_err": values["test_error"].mean().item(),
            "train_err": values["train_error"].mean().item(),
            "active": values["active_train"].mean().item(),
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state(),
            "generators": [g.get_state() for g in self.generators],
            "rows": self.rows,
            "position": self.position,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state(state["model"])
        set_generator_states(self.generators, state["generators"])
        self.rows = list(state["rows"])
        self.position = state["position"]

    def outputs(self) -> dict[int, SeedOutput]:
        extra = {"runs_batched": len(self.seeds)}
        stops = stop_steps(self.settings, self.rows, self.seeds)
        outputs = {}
        for seed in self.seeds:
            stop = stops[seed]
            rows = [
                {**row, "stop_step": stop, "stopped": stop is not None and row["step"] >= stop}
                for row in self.rows if row["seed"] == seed
            ]
            outputs[seed] = SeedOutput(rows=rows, extra=extra)
        return outputs


RUN = SparsityRun


def reference_run(settings: Settings, seed: int, device: torch.device | str = "cpu") -> dict[str, float]:
    """The same run as `SparsityRun`, written as a plain per-run PyTorch loop (nn.Sequential + optim.SGD).

    Consumes exactly the same random streams, so its final metrics must match the batched trainer's.
    It is the baseline of `benchmarks/bench_sparsity_trainer.py` and the oracle of the equivalence test.
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
