"""Many independent one-hidden-layer ReLU networks trained side by side.

Seed 003 trains tiny networks (d -> 4d -> 1) with SGD at batch size 1 for hundreds of thousands of steps.
One run at a time, every step is a handful of microsecond-sized kernels dominated by Python and dispatch
overhead. Stacking the R runs of one configuration into batched tensors turns R tiny steps into one
batched step with the same per-op overhead, which is where the benchmark's speed-up comes from.

Run r's parameters are `w1[r]`, `b1[r]`, `w2[r]`, `b2[r]`; no operation mixes runs, so each run follows
exactly the trajectory it would follow alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def init_bound(init_scale: str, fan_in: int) -> float:
    """Half-width a of the U[-a, a] initialisation.

    'unit': a = sqrt(3), unit variance per weight, as seed 003 §6 states; 'fan_in': a = sqrt(3 / fan_in),
    unit-variance pre-activations (the LeCun-uniform reading, kept as an option).
    """
    if init_scale == "unit":
        return math.sqrt(3.0)
    if init_scale == "fan_in":
        return math.sqrt(3.0 / fan_in)
    raise ValueError(f"init_scale must be 'unit' or 'fan_in', got '{init_scale}'")


def loss_derivative(
    out: torch.Tensor, y: torch.Tensor, hinge: torch.Tensor, beta: float = 0.0
) -> torch.Tensor:
    """dL/dN of L(-y N) for labels y in {-1, +1}, per run: the hinge loss ReLU(beta - y N) where the
    boolean mask `hinge` is true, the logistic loss log(1 + exp(-y N)) elsewhere.

    Hinge: -y where beta - y N > 0, else 0 (at the kink beta = y N the derivative taken is 0, as
    PyTorch's ReLU gives; a measure-zero event for continuous weights). Logistic: -y sigmoid(-y N).
    """
    margin = y * out
    return torch.where(hinge, -y * (beta - margin > 0), -y * torch.sigmoid(-margin))


class BatchedTwoLayer:
    """The parameters of R two-layer ReLU networks trained side by side (leading axis = run), and their
    checkpoint state; subclasses give the output layer's shape and the SGD step."""

    def __init__(self, w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor, b2: torch.Tensor, bias: bool):
        self.w1, self.b1, self.w2, self.b2, self.bias = w1, b1, w2, b2, bias

    def state(self) -> dict[str, torch.Tensor]:
        return {"w1": self.w1.cpu(), "b1": self.b1.cpu(), "w2": self.w2.cpu(), "b2": self.b2.cpu()}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        for name in ("w1", "b1", "w2", "b2"):
            getattr(self, name).copy_(state[name])


class BatchedReluNet(BatchedTwoLayer):
    """R networks N_r(x) = w2_r . ReLU(W1_r x + b1_r) + b2_r with scalar output."""

    @classmethod
    def initialise(
        cls,
        generators: Sequence[torch.Generator],
        d: int,
        hidden: int,
        bias: bool = True,
        init_scale: str = "unit",
        device: torch.device | str = "cpu",
    ) -> BatchedReluNet:
        """i.i.d. uniform init per run from that run's own generator (so batching never changes a run)."""
        a1, a2 = init_bound(init_scale, d), init_bound(init_scale, hidden)
        ab = math.sqrt(3.0) if init_scale == "unit" else 0.0
        params: list[list[torch.Tensor]] = [[], [], [], []]
        for gen in generators:
            params[0].append((torch.rand(hidden, d, generator=gen) * 2 - 1) * a1)
            params[1].append((torch.rand(hidden, generator=gen) * 2 - 1) * ab)
            params[2].append((torch.rand(hidden, generator=gen) * 2 - 1) * a2)
            params[3].append((torch.rand((), generator=gen) * 2 - 1) * ab)
        w1, b1, w2, b2 = (torch.stack(p).to(device) for p in params)
        if not bias:
            b1.zero_()
            b2.zero_()
        return cls(w1, b1, w2, b2, bias)

    @property
    def runs(self) -> int:
        return self.w1.shape[0]

    def preactivations(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden pre-activations W1 x + b1 for inputs x of shape (R, B, d) -> (R, B, H)."""
        return torch.baddbmm(self.b1.unsqueeze(1), x, self.w1.transpose(1, 2))

    def forward_from_preactivations(self, z: torch.Tensor) -> torch.Tensor:
        return (torch.relu(z) * self.w2.unsqueeze(1)).sum(-1) + self.b2.unsqueeze(1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs (R, B) for inputs (R, B, d)."""
        return self.forward_from_preactivations(self.preactivations(x))

    @torch.no_grad()
    def sgd_step_logistic(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> None:
        """One SGD step at batch size 1 per run on the logistic (binary cross-entropy) loss.

        Loss L = log(1 + exp(-y N(x))) with y in {-1, +1}. The gradient is written out by hand
        (dL/dN = -y sigmoid(-y N)) because autograd's graph bookkeeping costs more than the arithmetic
        at this size; `tests/test_sparsity.py` checks it against autograd.
        x: (R, d) one input per run, y: (R,) labels.
        """
        self.sgd_step(x, y, lr)

    @torch.no_grad()
    def sgd_step(
        self, x: torch.Tensor, y: torch.Tensor, lr: float | torch.Tensor, hinge: torch.Tensor | None = None,
        beta: float = 0.0,
    ) -> None:
        """One SGD step per run on L(-y N(x)): logistic for every run (`hinge` None), else the hinge
        loss ReLU(beta - y N(x)) for the runs where the boolean (R,) mask `hinge` is true and the
        logistic loss for the others, so runs of both losses advance in one batched step. `lr` is one
        rate for all runs or an (R,) tensor of per-run rates (folded into dL/dN)."""
        z = torch.baddbmm(self.b1.unsqueeze(-1), self.w1, x.unsqueeze(-1)).squeeze(-1)
        hidden = torch.relu(z)
        out = (hidden * self.w2).sum(-1) + self.b2
        g = -y * torch.sigmoid(-y * out) if hinge is None else loss_derivative(out, y, hinge, beta)
        if isinstance(lr, torch.Tensor):
            g, lr = g * lr, 1.0
        delta = g.unsqueeze(1) * self.w2 * (z > 0)
        self.w2.addcmul_(g.unsqueeze(1), hidden, value=-lr)
        self.w1.baddbmm_(delta.unsqueeze(2), x.unsqueeze(1), alpha=-lr)
        if self.bias:
            self.b2.add_(g, alpha=-lr)
            self.b1.add_(delta, alpha=-lr)
