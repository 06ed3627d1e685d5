"""Epoch-level sample selection of Table 1's CRUST and FINE rows, on the run's device.

Both select once per epoch from a no-augmentation, eval-mode pass over the training set (`training_pass`)
and then train, batch by batch, on the selected samples of each batch only (`methods.Crust`,
`methods.Fine`); ALASCA's ALS term still sees the whole batch.

* CRUST (Mirzasoleiman et al. 2020): per class of the given labels, a greedy facility-location coreset of
  the last-layer gradient estimates softmax(f(x)) − onehot(ỹ) (`facility_location`, the device port of
  `baselines.facility_location`: the numpy version is O(budget·n²) on the host, ~2250 picks over a
  4500² similarity matrix per CIFAR-10 class at 50%), each medoid weighted by the number of samples it
  stands for.
* FINE (Kim et al. 2021): the alignment scores of the penultimate features with their class's principal
  singular vector and the per-class two-component Gaussian mixture (`baselines.fine_scores`,
  `baselines.fine_clean_mask`, on the host: one SVD and one small mixture per class).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from labelrepro.papers.alasca import baselines


@torch.no_grad()
def training_pass(net: Any, settings: Any, splits: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(main-head logits (n, C), penultimate features (n, d)) of the whole training set, fp32, in eval mode
    and without augmentation (the selection must not depend on the batch's BN statistics or crops)."""
    # imported here: `methods` imports this module lazily, and the engine pulls in torchvision, which must
    # not start importing while a lazy module is being resolved
    from labelrepro.engine import image as supervised

    was_training = net.training
    net.eval()
    logits, feats = [], []
    for _, images, _ in supervised.eval_batches(splits.train, settings.eval_batch_size):
        with supervised.autocast(images.device, settings.amp):
            pooled = net.backbone.forward_features(supervised.to_input(images, settings.channels_last))[-1]
            logits.append(net.backbone.classify(pooled).float())
        feats.append(pooled.float())
    net.train(was_training)
    return torch.cat(logits), torch.cat(feats)


def facility_location(points: torch.Tensor, budget: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`baselines.facility_location` on tensors (same greedy rule, same first-index tie-break): `budget`
    medoids maximising Σ_i max_{j∈S} (max distance − d(i, j)); returns (medoids in pick order, weights =
    how many points each medoid is the most similar medoid of). No host synchronisation per pick."""
    n = points.shape[0]
    budget = max(1, min(budget, n))
    dist = torch.cdist(points, points)
    sim = dist.max() - dist
    best = torch.zeros(n, dtype=sim.dtype, device=sim.device)
    taken = torch.zeros(n, dtype=torch.bool, device=sim.device)
    chosen = torch.empty(budget, dtype=torch.long, device=sim.device)
    for k in range(budget):
        gains = torch.maximum(sim, best[:, None]).sum(dim=0) - best.sum()
        gains = gains.masked_fill(taken, -math.inf)
        pick = torch.argmax(gains)
        chosen[k] = pick
        taken[pick] = True
        best = torch.maximum(best, sim[:, pick])
    owner = torch.argmax(sim[:, chosen], dim=1)
    weights = torch.bincount(owner, minlength=budget).to(points.dtype)
    return chosen, weights


def crust_selection(logits: torch.Tensor, labels: torch.Tensor, num_classes: int,
                    fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """CRUST's per-class coresets of ⌈fraction·n_c⌉ samples from the gradient estimates p − onehot(ỹ);
    returns (selected mask (n,), per-sample weight (n,): the medoid's cluster size, 0 if not selected)."""
    grads = torch.softmax(logits.float(), dim=1) - F.one_hot(labels, num_classes).float()
    selected = torch.zeros(len(labels), dtype=torch.bool, device=labels.device)
    weights = torch.zeros(len(labels), device=labels.device)
    for cls in torch.unique(labels).tolist():
        members = torch.nonzero(labels == cls).squeeze(1)
        medoids, w = facility_location(grads[members], math.ceil(fraction * len(members)))
        selected[members[medoids]] = True
        weights[members[medoids]] = w
    return selected, weights


def fine_selection(feats: torch.Tensor, labels: torch.Tensor, threshold: float,
                   seed: int) -> torch.Tensor:
    """FINE's clean mask (n,) on the labels' device: eigenvector alignment scores and a per-class GMM."""
    z = feats.double().cpu().numpy()
    y = labels.cpu().numpy()
    clean = baselines.fine_clean_mask(baselines.fine_scores(z, y), y, threshold, seed)
    return torch.from_numpy(np.asarray(clean)).to(labels.device)
