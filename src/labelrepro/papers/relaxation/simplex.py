"""The losses of A.3's Fig. 1 over the 3-class simplex (trainer `relax_simplex`: nothing is trained).

The figure's loss surfaces come from the same functions the training runs use (`losses.py`), evaluated
on every interior point of a barycentric grid with `resolution` points per edge; class 0 is the true
class. Rows (`kind`): `grid` points with both losses; the label-smoothing target; the prediction
outside Q^α and its projection p^r (Proposition 1). The label-smoothing surface is given twice: as the
cross-entropy to the smoothed target (what training minimises) and as the KL divergence to it (the same
up to the target's entropy, and zero at the target, so both panels share one colour scale).
"""

from __future__ import annotations

from typing import Any

import torch

from labelrepro.core.config import settings_from_dict
from labelrepro.engine.job import Job
from labelrepro.engine.loop import Run, SeedOutput
from labelrepro.losses.label_smoothing import smoothed_targets
from labelrepro.papers.relaxation import losses as L
from labelrepro.papers.relaxation.settings import SimplexSettings


def barycentric_grid(resolution: int) -> torch.Tensor:
    """Interior points (i, j, k)/n, i + j + k = n, all >= 1, as float64 rows (p_y, p_1, p_2)."""
    n = resolution
    points = [(i, j, n - i - j) for i in range(1, n) for j in range(1, n - i)]
    return torch.tensor(points, dtype=torch.float64) / n


def surfaces(settings: SimplexSettings) -> list[dict[str, Any]]:
    """Every row of the figure's data (see the module docstring)."""
    alpha = settings.alpha
    probs = barycentric_grid(settings.resolution)
    labels = torch.zeros(len(probs), dtype=torch.int64)
    logits = torch.log(probs)
    target = smoothed_targets(labels[:1], 3, alpha, "uniform").to(torch.float64)[0]
    ls_ce = L.label_smoothing(logits, labels, alpha)
    ls_kl = L.kl_divergence(target.expand_as(probs), probs)
    lr = L.label_relaxation(logits, labels, alpha)
    rows = [
        {"kind": "grid", "p_true": float(p[0]), "p_a": float(p[1]), "p_b": float(p[2]),
         "ls_ce": float(c), "ls_kl": float(k), "lr_loss": float(r)}
        for p, c, k, r in zip(probs, ls_ce, ls_kl, lr, strict=True)
    ]
    prediction = torch.tensor([settings.prediction], dtype=torch.float64)
    projection = L.relaxation_projection(prediction, labels[:1], alpha)[0]
    lr_at_prediction = L.label_relaxation(torch.log(prediction), labels[:1], alpha).item()
    for kind, point, value in (
        ("ls_target", target, float("nan")),
        ("prediction", prediction[0], lr_at_prediction),
        ("projection", projection, 0.0),
    ):
        rows.append({"kind": kind, "p_true": float(point[0]), "p_a": float(point[1]), "p_b": float(point[2]),
                     "ls_ce": float("nan"), "ls_kl": float("nan"), "lr_loss": value})
    return rows


class SimplexRun(Run):
    """One unit: evaluate the surfaces (seconds); the seed is unused (the figure is deterministic)."""

    unit = "grid"
    batch_seeds = True

    def __init__(self, job: Job, seeds: list[int]) -> None:
        super().__init__(job, seeds)
        self.settings = settings_from_dict(SimplexSettings, job.spec["settings"], job.label)
        self.total = 1
        self.rows: list[dict[str, Any]] = []

    def advance(self) -> dict[str, float]:
        self.rows = surfaces(self.settings)
        return {"points": float(len(self.rows))}

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rows, self.position = list(state["rows"]), state["position"]

    def outputs(self) -> dict[int, SeedOutput]:
        alpha = self.settings.alpha
        return {seed: SeedOutput(rows=[{"seed": seed, "alpha": alpha, **row} for row in self.rows])
                for seed in self.seeds}


RUN = SimplexRun
