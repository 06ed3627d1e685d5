"""Figure 3 of seed 002 (ALASCA): how the instantaneous and the EMA confidence evolve, clean vs noisy.

With `log_confidence: true` the trainer hands every minibatch to `ConfidenceLog.batch_sums`, which
returns device-resident sums (no host synchronisation) of, separately for the clean and the noisy
training samples (given label ≠ true label):

* the instantaneous confidence c_i = S(f(x_i))_ỹ of this step's main-head logits (Eq. 2's 1 − α̃),
* the EMA confidence e_i = S(t_i/τ)_ỹ after this step's EMA update (Algorithm 1 lines 3–4),
* their squares (for the standard deviation over samples, Fig. 3's band),
* |c_i − c_i'| and |e_i − e_i'| against the same sample's value at its previous visit (an epoch ago),
  the per-sample instability the paper attributes to the instantaneous confidence.

`epoch_row` turns one epoch's totals into the row's columns `conf_{inst,ema}_{clean,noisy}_{mean,std,
change}`. The confidences are the raw ones, before the official smoothing warm-up ramps α̃.
"""

from __future__ import annotations

import math

import torch

KINDS = ("inst", "ema")
GROUPS = ("clean", "noisy")


class ConfidenceLog:
    """Per-sample previous confidences and the per-batch sums for Figure 3's curves."""

    def __init__(self, num_samples: int, device: torch.device) -> None:
        self.previous = {kind: torch.full((num_samples,), math.nan, device=device) for kind in KINDS}

    @torch.no_grad()
    def batch_sums(self, index: torch.Tensor, main32: torch.Tensor, labels: torch.Tensor,
                   clean_labels: torch.Tensor, ema_confidence: torch.Tensor) -> dict[str, torch.Tensor]:
        """Sums over this batch (float64 on the device) of the confidences, squares and changes."""
        inst = torch.softmax(main32.detach().float(), dim=1).gather(1, labels.view(-1, 1)).squeeze(1)
        values = {"inst": inst, "ema": ema_confidence.detach().float()}
        noisy = labels != clean_labels
        sums: dict[str, torch.Tensor] = {}
        for kind, value in values.items():
            value64 = value.double()
            before = self.previous[kind][index].double()
            seen = ~torch.isnan(before)
            change = torch.where(seen, (value64 - before).abs(), torch.zeros_like(value64))
            for group, mask in (("clean", ~noisy), ("noisy", noisy)):
                key = f"conf_{kind}_{group}"
                sums[f"{key}_sum"] = (value64 * mask).sum()
                sums[f"{key}_sq"] = (value64.square() * mask).sum()
                sums[f"{key}_n"] = mask.sum()
                sums[f"{key}_change_sum"] = (change * (mask & seen)).sum()
                sums[f"{key}_change_n"] = (mask & seen).sum()
            self.previous[kind][index] = value.to(self.previous[kind].dtype)
        return sums

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {kind: value.clone() for kind, value in self.previous.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for kind in KINDS:
            self.previous[kind] = state[kind].to(self.previous[kind].device).clone()


def epoch_row(totals: dict[str, float]) -> dict[str, float]:
    """One epoch's columns from its summed totals: mean, (population) std and mean change per group."""
    row: dict[str, float] = {}
    for kind in KINDS:
        for group in GROUPS:
            key = f"conf_{kind}_{group}"
            n = totals.get(f"{key}_n", 0.0)
            if n <= 0:
                row.update({f"{key}_mean": math.nan, f"{key}_std": math.nan, f"{key}_change": math.nan})
                continue
            mean = totals[f"{key}_sum"] / n
            var = max(0.0, totals[f"{key}_sq"] / n - mean * mean)
            changed = totals[f"{key}_change_n"]
            row[f"{key}_mean"] = mean
            row[f"{key}_std"] = math.sqrt(var)
            row[f"{key}_change"] = totals[f"{key}_change_sum"] / changed if changed else math.nan
    return row
