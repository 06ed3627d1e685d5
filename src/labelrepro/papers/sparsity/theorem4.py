"""Seed 003 Theorems 3 and 4: N(x) = V . ReLU(W x) with 2k hidden units, no bias, V = (1,...,1, -1,...,-1)
fixed, only W trained (iid U[-1, 1] init), hinge loss with beta = 0, pure label noise over the standard
basis x ~ U{e_1, ..., e_d}, SGD at batch size 1.

For x = e_j the network reads column j of W only, and the update changes column j only: with
c = W[:, j], N(e_j) = sum_i V_i ReLU(c_i), and when y N(e_j) < 0 (the hinge loss is active)
c <- c + h y V * 1(c > 0); otherwise nothing moves. Each step draws j ~ U{1..d} and y ~ U{+-1}.

The job trains, for every k of `ks`, every (seed, learning rate) pair as one batched tensor of columns
(R, d, 2k) (one tensor per k, since 2k differs). All rates of one (seed, k) start from the same W and see
the same (j, y) stream. Every `eval_every` steps a row per (seed, k, rate) records, over the d inputs:
how many e_j have ReLU(W e_j) = 0 (Theorem 4.1 wants all of them for h >= 1), how many zero
coordinates ReLU(W e_j) has (Theorem 4.2: at most k + o(k) for h <= 1/k, and none of them all-zero),
max_j |N(e_j)| / (2kh) (Theorem 3: below 1 after finitely many steps), and whether the live sets
{i : W_ij > 0} changed since the previous evaluation (they only shrink; unchanged = settled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from labelrepro.core.seeding import make_generator
from labelrepro.engine.job import Job
from labelrepro.engine.loop import Run, SeedOutput, set_generator_states, split_by_seed
from labelrepro.papers.sparsity.settings import Theorem4Settings as Settings


def rate_rules(settings: Settings, k: int) -> list[tuple[str, float]]:
    """(name, h) of every learning rate at width k: 'h=2' for absolute rates, 'h=0.25/k' for c / k."""
    rules = [(f"h={h:g}", float(h)) for h in settings.lrs]
    rules += [(f"h={c:g}/k", c / k) for c in settings.lrs_times_k]
    return rules


def output_weights(k: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """V = (1, ..., 1, -1, ..., -1) of length 2k."""
    return torch.cat([torch.ones(k), -torch.ones(k)]).to(device)


@torch.no_grad()
def hinge_step(
    columns: torch.Tensor, v: torch.Tensor, j: torch.Tensor, y: torch.Tensor, lr: torch.Tensor
) -> None:
    """One SGD step of every run on its own input e_{j_r} with label y_r, in place.

    columns: (R, d, 2k), W transposed (columns[r, j] is column j of run r's W); v: (2k,);
    j: (R,) input indices; y: (R,) labels in {-1, +1}; lr: (R,) learning rates.
    The hinge loss ReLU(-y N) has dL/dN = -y where y N < 0 and 0 elsewhere (0 at y N = 0), and
    dN/dW_ij = V_i 1(W_ij > 0) (ReLU'(0) = 0).
    """
    runs, d, width = columns.shape
    flat = columns.view(runs * d, width)  # one row per (run, input): index_select/index_copy_ are cheap
    index = torch.arange(runs, device=columns.device) * d + j
    column = flat.index_select(0, index)  # (R, 2k)
    out = (torch.relu(column) * v).sum(-1)
    active = (y * out < 0).to(column.dtype)
    column += (lr * y * active).unsqueeze(1) * v * (column > 0)
    flat.index_copy_(0, index, column)


@torch.no_grad()
def column_metrics(
    columns: torch.Tensor, v: torch.Tensor, lr: torch.Tensor, k: int
) -> dict[str, torch.Tensor]:
    """Per-run summaries over the d inputs e_1..e_d (see the module docstring); each (R,)."""
    zeros = (columns <= 0).sum(-1)  # (R, d): zero coordinates of ReLU(W e_j)
    dead = zeros == 2 * k
    out = (torch.relu(columns) * v).sum(-1)  # (R, d): N(e_j)
    return {
        "dead_inputs": dead.sum(-1).double(),
        "all_dead": dead.all(-1).double(),
        "none_dead": (~dead).all(-1).double(),
        "zero_frac_mean": zeros.double().mean(-1) / (2 * k),
        "zero_frac_max": zeros.double().amax(-1) / (2 * k),
        "zero_count_max": zeros.double().amax(-1),
        "out_abs_max": out.abs().amax(-1).double(),
        "thm3_ratio": (out.abs().amax(-1) / (2 * k * lr)).double(),
    }


@dataclass
class Group:
    """The runs of one width k: columns (R, d, 2k), their rates and the (seed, rule) of each run."""

    k: int
    columns: torch.Tensor
    v: torch.Tensor
    lr: torch.Tensor
    runs: list[tuple[int, str, float]]  # (seed, rule name, h)
    seed_index: torch.Tensor  # (R,) index of the run's seed in the job's seeds
    generators: list[torch.Generator]  # one (j, y) stream per seed
    live: torch.Tensor  # (R, d, 2k) W > 0 at the previous evaluation


class Theorem4Run(Run):
    """Every k, seed and learning rate of the job trained together; one unit is one evaluation period."""

    unit = "period"
    batch_seeds = True

    def __init__(self, job: Job, seeds: list[int]) -> None:
        super().__init__(job, seeds)
        settings: Settings = self.settings
        device = job.device
        self.groups: list[Group] = []
        for k in settings.ks:
            rules = rate_rules(settings, k)
            inits = [
                (torch.rand(settings.d, 2 * k, generator=make_generator(seed, f"thm4-init-k{k}")) * 2 - 1)
                for seed in seeds
            ]
            seed_index = torch.arange(len(seeds)).repeat_interleave(len(rules)).to(device)
            columns = torch.stack(inits).to(device)[seed_index].clone()
            runs = [(seed, name, h) for seed in seeds for name, h in rules]
            lr = torch.tensor([h for _, _, h in runs], device=device)
            generators = [make_generator(seed, f"thm4-sgd-k{k}") for seed in seeds]
            self.groups.append(
                Group(k, columns, output_weights(k, device), lr, runs, seed_index, generators, columns > 0)
            )
        self.total = math.ceil(settings.steps / settings.eval_every)
        self.last_change = [torch.zeros(len(g.runs), dtype=torch.long) for g in self.groups]
        self.rows: list[dict[str, Any]] = self.evaluate(0)

    def step(self) -> int:
        return min(self.position * self.settings.eval_every, self.settings.steps)

    def evaluate(self, step: int) -> list[dict[str, Any]]:
        rows = []
        for index, group in enumerate(self.groups):
            values = column_metrics(group.columns, group.v, group.lr, group.k)
            live = group.columns > 0
            changed = (live != group.live).flatten(1).any(-1).cpu()
            self.last_change[index][changed] = step
            group.live = live
            cpu = {k: v.cpu().tolist() for k, v in values.items()}
            for r, (seed, rule, h) in enumerate(group.runs):
                rows.append({
                    "seed": seed, "k": group.k, "rule": rule, "lr": h, "step": step,
                    **{name: cpu[name][r] for name in cpu},
                    "live_changed": bool(changed[r]), "last_change_step": int(self.last_change[index][r]),
                })
        return rows

    def advance(self) -> dict[str, float]:
        settings = self.settings
        step = self.step()
        length = min(settings.eval_every, settings.steps - step)
        for group in self.groups:
            draws = [
                (torch.randint(0, settings.d, (length,), generator=gen),
                 torch.randint(0, 2, (length,), generator=gen).to(torch.float32) * 2 - 1)
                for gen in group.generators
            ]
            device = group.columns.device
            js = torch.stack([j for j, _ in draws], 1).to(device)[:, group.seed_index]
            ys = torch.stack([y for _, y in draws], 1).to(device)[:, group.seed_index]
            for t in range(length):
                hinge_step(group.columns, group.v, js[t], ys[t], group.lr)
        rows = self.evaluate(step + length)
        self.rows.extend(rows)
        return {"step": step + length, "all_dead": sum(r["all_dead"] for r in rows) / len(rows)}

    def state_dict(self) -> dict[str, Any]:
        return {
            "columns": [g.columns.cpu() for g in self.groups],
            "live": [g.live.cpu() for g in self.groups],
            "last_change": [t.clone() for t in self.last_change],
            "generators": [[gen.get_state() for gen in g.generators] for g in self.groups],
            "rows": self.rows,
            "position": self.position,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for index, group in enumerate(self.groups):
            group.columns.copy_(state["columns"][index])
            group.live.copy_(state["live"][index])
            self.last_change[index].copy_(state["last_change"][index])
            set_generator_states(group.generators, state["generators"][index])
        self.rows = list(state["rows"])
        self.position = state["position"]

    def outputs(self) -> dict[int, SeedOutput]:
        extra = {"runs_batched": sum(len(g.runs) for g in self.groups)}
        return split_by_seed(self.rows, self.seeds, extra)


RUN = Theorem4Run
