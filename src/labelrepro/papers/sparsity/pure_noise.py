"""Seed 003 §5 and §6.1-6.2: networks trained under pure label noise (Definition 2), Figs. 2-4.

At every SGD step each run draws a fresh input x ~ N(0, I_d) and a fresh label y ~ U{+-1}; there is no
dataset. The job trains every (seed, learning rate, loss) of its settings side by side as one batched
tensor: run r = (seed, lr, loss) in the order seeds x lrs x losses. All rates and losses of one seed
start from the same initialisation and see the same (x, y) stream, so their curves are paired.

Models (`model` setting):
- `neuron`: Theorem 2's single linear neuron N(x) = v . x, v in R^d, no bias;
- `mlp`: N(x) = w2 . ReLU(W1 x + b1) + b2 with both layers trained (biases only with `bias: true`).

Every `eval_every` steps a row per run records the weight norms and, for the MLP, the typical number of
active hidden neurons (Definition 1) on `n_eval` fixed fresh inputs of that seed, the fraction of those
inputs on which no neuron fires, and the distribution of the hidden biases over neurons (quantiles and
how many neurons' biases never rose between evaluations: Fig. 4c's "monotonically decreasing").
"""

from __future__ import annotations

import math
from typing import Any

import torch

from labelrepro.core.seeding import make_generator
from labelrepro.engine.job import Job
from labelrepro.engine.loop import Run, SeedOutput, set_generator_states, split_by_seed
from labelrepro.papers.sparsity import metrics
from labelrepro.papers.sparsity.batched_mlp import BatchedReluNet, init_bound, loss_derivative
from labelrepro.papers.sparsity.settings import PureNoiseSettings as Settings

#: Quantiles of the per-neuron hidden biases recorded at every evaluation (Fig. 4c).
BIAS_QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)


class LinearNeuron:
    """R single neurons N_r(x) = v_r . x (Theorem 2), trained by SGD at batch size 1."""

    def __init__(self, v: torch.Tensor) -> None:
        self.v = v

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs (R, B) for inputs (R, B, d)."""
        return torch.einsum("rbd,rd->rb", x, self.v)

    @torch.no_grad()
    def sgd_step(
        self, x: torch.Tensor, y: torch.Tensor, lr: torch.Tensor | float, hinge: torch.Tensor, beta: float
    ) -> None:
        """v <- v - lr * dL/dN * x for one input x (R, d), label y (R,) and rate lr (R,) per run."""
        out = (self.v * x).sum(-1)
        g = loss_derivative(out, y, hinge, beta) * lr
        self.v.addcmul_(g.unsqueeze(1), x, value=-1.0)


def run_order(
    seeds: list[int], lrs: tuple[float, ...], losses: tuple[str, ...]
) -> list[tuple[int, float, str]]:
    """The runs of a job, (seed, lr, loss), seed-major: run r = runs[r]."""
    return [(seed, lr, loss) for seed in seeds for lr in lrs for loss in losses]


class PureNoiseRun(Run):
    """All (seed, loss) runs of a job trained together; one unit is one evaluation period."""

    unit = "period"
    batch_seeds = True

    def __init__(self, job: Job, seeds: list[int]) -> None:
        super().__init__(job, seeds)
        settings: Settings = self.settings
        device = job.device
        self.pairs = run_order(seeds, settings.lrs, settings.losses)
        per_seed = len(settings.lrs) * len(settings.losses)
        #: run r uses the random streams of seed index seed_index[r]
        self.seed_index = torch.arange(len(seeds)).repeat_interleave(per_seed).to(device)
        self.hinge = torch.tensor([loss == "hinge" for _, _, loss in self.pairs], device=device)
        self.lr = torch.tensor([lr for _, lr, _ in self.pairs], device=device)
        init_gens = [make_generator(seed, "pure-noise-init") for seed in seeds]
        if settings.model == "neuron":
            bound = init_bound(settings.init_scale, settings.d)
            v = torch.stack([(torch.rand(settings.d, generator=g) * 2 - 1) * bound for g in init_gens])
            self.model: LinearNeuron | BatchedReluNet = LinearNeuron(v.to(device)[self.seed_index].clone())
        else:
            net = BatchedReluNet.initialise(
                init_gens, settings.d, settings.hidden, settings.bias, settings.init_scale, device
            )
            self.model = BatchedReluNet(
                *(p[self.seed_index].clone() for p in (net.w1, net.b1, net.w2, net.b2)), bias=settings.bias
            )
        eval_gens = [make_generator(seed, "pure-noise-eval") for seed in seeds]
        x_eval = torch.stack([torch.randn(settings.n_eval, settings.d, generator=g) for g in eval_gens])
        self.x_eval = x_eval.to(device)[self.seed_index]
        self.generators = [make_generator(seed, "pure-noise-sgd") for seed in seeds]
        self.total = math.ceil(settings.steps / settings.eval_every)
        if isinstance(self.model, BatchedReluNet):
            self.previous_b1 = self.model.b1.clone()
            self.never_increased = torch.ones_like(self.model.b1, dtype=torch.bool)
        self.rows: list[dict[str, Any]] = self.evaluate(0)

    def step(self) -> int:
        return min(self.position * self.settings.eval_every, self.settings.steps)

    def draw_chunk(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (length, R, d) and labels (length, R) for the next `length` steps of every run; one draw
        per seed, shared by that seed's losses, from the seed's own stream (batching changes nothing)."""
        xs, ys = [], []
        for gen in self.generators:
            xs.append(torch.randn(length, self.settings.d, generator=gen))
            ys.append(torch.randint(0, 2, (length,), generator=gen).to(torch.float32) * 2 - 1)
        device = self.seed_index.device
        x = torch.stack(xs, 1).to(device)[:, self.seed_index]
        y = torch.stack(ys, 1).to(device)[:, self.seed_index]
        return x, y

    @torch.no_grad()
    def evaluate(self, step: int) -> list[dict[str, Any]]:
        """One row per run at `step` (see the module docstring)."""
        values: dict[str, torch.Tensor] = {}
        model = self.model
        if isinstance(model, LinearNeuron):
            values["w_norm"] = model.v.norm(dim=1)
            values["out_abs_mean"] = model(self.x_eval).abs().mean(-1)
        else:
            z = model.preactivations(self.x_eval)
            out = model.forward_from_preactivations(z)
            counts = metrics.active_neuron_counts(z)
            values["w1_norm"] = model.w1.flatten(1).norm(dim=1)
            values["w2_norm"] = model.w2.norm(dim=1)
            values["active"] = metrics.typical_active_neurons(z)
            values["active_frac"] = values["active"] / self.settings.hidden
            values["dead_input_frac"] = (counts == 0).double().mean(-1)
            values["out_abs_mean"] = out.abs().mean(-1)
            if self.settings.bias:
                b1 = model.b1
                values["b1_norm"] = b1.norm(dim=1)
                values["b1_mean"] = b1.mean(dim=1)
                values["b2"] = model.b2
                quantiles = torch.quantile(b1.double(), torch.tensor(BIAS_QUANTILES, dtype=torch.float64,
                                                                     device=b1.device), dim=1)
                for q, column in zip(BIAS_QUANTILES, quantiles, strict=True):
                    values[f"b1_q{round(q * 100):02d}"] = column
                self.never_increased &= b1 <= self.previous_b1
                values["b1_decreased_frac"] = (b1 < self.previous_b1).double().mean(-1)
                values["b1_never_increased_frac"] = self.never_increased.double().mean(-1)
                self.previous_b1 = b1.clone()
        cpu = {k: v.double().cpu().tolist() for k, v in values.items()}
        return [
            {"seed": seed, "lr": lr, "loss": loss, "step": step, "d": self.settings.d,
             **{k: cpu[k][r] for k in cpu}}
            for r, (seed, lr, loss) in enumerate(self.pairs)
        ]

    def advance(self) -> dict[str, float]:
        settings = self.settings
        step = self.step()
        length = min(settings.eval_every, settings.steps - step)
        xs, ys = self.draw_chunk(length)
        model, hinge, beta, lr = self.model, self.hinge, settings.hinge_beta, self.lr
        for k in range(length):
            model.sgd_step(xs[k], ys[k], lr, hinge, beta)
        rows = self.evaluate(step + length)
        self.rows.extend(rows)
        shown = "w_norm" if settings.model == "neuron" else "w1_norm"
        return {"step": step + length, shown: sum(r[shown] for r in rows) / len(rows)}

    def state_dict(self) -> dict[str, Any]:
        model = self.model
        tensors = {"v": model.v.cpu()} if isinstance(model, LinearNeuron) else model.state()
        if isinstance(model, BatchedReluNet):
            tensors = {**tensors, "previous_b1": self.previous_b1.cpu(),
                       "never_increased": self.never_increased.cpu()}
        return {
            "tensors": tensors,
            "generators": [g.get_state() for g in self.generators],
            "rows": self.rows,
            "position": self.position,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        tensors = state["tensors"]
        if isinstance(self.model, LinearNeuron):
            self.model.v.copy_(tensors["v"])
        else:
            self.model.load_state(tensors)
            self.previous_b1.copy_(tensors["previous_b1"])
            self.never_increased.copy_(tensors["never_increased"])
        set_generator_states(self.generators, state["generators"])
        self.rows = list(state["rows"])
        self.position = state["position"]

    def outputs(self) -> dict[int, SeedOutput]:
        extra = {"runs_batched": len(self.pairs)}
        return split_by_seed(self.rows, self.seeds, extra)


RUN = PureNoiseRun
