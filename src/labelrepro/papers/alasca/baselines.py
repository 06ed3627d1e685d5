"""The learning-with-noisy-labels baselines of ALASCA's Table 1, each from its own paper and code.

Losses (per batch, from logits):
- GCE (Zhang & Sabuncu 2018): (1 − p_y^q)/q, q = 0.7, with p clamped to [1e-4, 1] as ALASCA's copy does.
- SCE (Wang et al. 2019): α·CE + β·RCE, α = 1, β = 0.4 (ALASCA's `train_cifar.py`), where RCE =
  −Σ_k p_k log q_k against the one-hot clamped to [1e-4, 1] (so RCE = −log(1e-4)·(1 − p_y)); ALASCA's
  copy also uses that clamped target in its CE term, which therefore puts 1e-4 on every other class.
- ELR (Liu et al. 2020): CE + λ·mean log(1 − ⟨t_i, p_i⟩), with the per-sample target t_i an EMA
  (β = 0.7) of the detached, clamped ([1e-4, 1 − 1e-4]) and renormalised probabilities; λ = 3.

Sample selection:
- Co-teaching (Han et al. 2018): forget rate ramped linearly from 0 over `num_gradual` epochs to the
  noise rate, then constant; each network keeps the ⌊(1 − rate)·B⌋ smallest-CE samples of the batch and
  the *other* network is trained on them.
- CRUST (Mirzasoleiman et al. 2020): per class, a greedy facility-location coreset of the samples'
  last-layer gradient estimates (similarity = max distance − distance), each medoid weighted by the number
  of samples it represents.
- FINE (Kim et al. 2021): per class, the first right-singular vector v_c of the (uncentred) penultimate
  features; score_i = |⟨v_c, z_i/‖z_i‖⟩|; a two-component Gaussian mixture per class (scikit-learn) and a
  sample is clean when the posterior of the higher-mean component exceeds 0.5.
- Selection F1 (Fig. 4a): of the selected set against the samples whose label is the true one.

These are the building blocks that `methods.py` (the Table 1 rows) and `selection.py` train with.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

GCE_Q = 0.7
SCE_ALPHA, SCE_BETA = 1.0, 0.4
LABEL_CLAMP = 1e-4


def gce_loss(logits: torch.Tensor, labels: torch.Tensor, q: float = GCE_Q) -> torch.Tensor:
    """Generalised cross-entropy (1 − p_y^q)/q, mean over the batch; q → 0 is CE, q = 1 is MAE."""
    p = torch.softmax(logits, dim=1).clamp(min=LABEL_CLAMP, max=1.0)
    p_y = p.gather(1, labels.view(-1, 1)).squeeze(1)
    return ((1.0 - p_y.pow(q)) / q).mean()


def sce_loss(logits: torch.Tensor, labels: torch.Tensor, alpha: float = SCE_ALPHA,
             beta: float = SCE_BETA) -> torch.Tensor:
    """Symmetric cross-entropy α·CE + β·RCE against the one-hot clamped to [1e-4, 1] (see module doc)."""
    target = F.one_hot(labels, logits.shape[1]).to(logits.dtype).clamp(min=LABEL_CLAMP, max=1.0)
    ce = -(target * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    p = torch.softmax(logits, dim=1).clamp(min=1e-7, max=1.0)
    rce = -(p * torch.log(target)).sum(dim=1).mean()
    return alpha * ce + beta * rce


class EarlyLearningRegularisation:
    """ELR's per-sample target memory and loss (λ = 3, β = 0.7 for CIFAR as in ALASCA's runs)."""

    def __init__(self, num_samples: int, num_classes: int, beta: float = 0.7, lam: float = 3.0,
                 device: torch.device | str = "cpu") -> None:
        self.targets = torch.zeros(num_samples, num_classes, device=device)
        self.beta, self.lam = beta, lam

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        p = torch.softmax(logits, dim=1).clamp(LABEL_CLAMP, 1.0 - LABEL_CLAMP)
        detached = p.detach()
        self.targets[indices] = (self.beta * self.targets[indices]
                                 + (1.0 - self.beta) * detached / detached.sum(dim=1, keepdim=True))
        regulariser = torch.log(1.0 - (self.targets[indices] * p).sum(dim=1)).mean()
        return F.cross_entropy(logits, labels) + self.lam * regulariser


def coteaching_forget_rate(epoch: int, forget_rate: float, num_gradual: int) -> float:
    """The forget rate at a 0-based epoch: linspace(0, rate, num_gradual) for the first epochs, then rate."""
    if num_gradual <= 0 or epoch >= num_gradual:
        return forget_rate
    return forget_rate * epoch / (num_gradual - 1) if num_gradual > 1 else forget_rate


def coteaching_select(logits_1: torch.Tensor, logits_2: torch.Tensor, labels: torch.Tensor,
                      forget_rate: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the small-loss samples of each network (network 1 is then trained on the second's)."""
    keep = int((1.0 - forget_rate) * labels.shape[0])
    loss_1 = F.cross_entropy(logits_1.detach(), labels, reduction="none")
    loss_2 = F.cross_entropy(logits_2.detach(), labels, reduction="none")
    return torch.argsort(loss_1)[:keep], torch.argsort(loss_2)[:keep]


def facility_location(points: np.ndarray, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy facility location: `budget` medoids maximising Σ_i max_{j∈S} sim(i, j), with
    sim = max pairwise distance − distance; returns (medoid indices in pick order, weights = how many
    points each medoid is the most similar medoid of)."""
    n = len(points)
    budget = max(1, min(budget, n))
    dist = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)
    sim = dist.max() - dist
    best = np.zeros(n)
    chosen: list[int] = []
    for _ in range(budget):
        gains = np.maximum(sim, best[:, None]).sum(axis=0) - best.sum()
        gains[chosen] = -np.inf
        pick = int(np.argmax(gains))
        chosen.append(pick)
        best = np.maximum(best, sim[:, pick])
    owner = np.argmax(sim[:, chosen], axis=1)
    weights = np.bincount(owner, minlength=len(chosen)).astype(float)
    return np.array(chosen), weights


def crust_coreset(grads: np.ndarray, labels: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-class facility-location coresets of ⌈fraction·n_c⌉ samples; (indices, weights)."""
    indices, weights = [], []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        medoids, w = facility_location(grads[members], math.ceil(fraction * len(members)))
        indices.append(members[medoids])
        weights.append(w)
    return np.concatenate(indices), np.concatenate(weights)


def fine_scores(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """|⟨v_c, z_i/‖z_i‖⟩| with v_c the first right-singular vector of class c's (uncentred) features."""
    scores = np.zeros(len(labels))
    for cls in np.unique(labels):
        members = labels == cls
        _, _, vt = np.linalg.svd(features[members], full_matrices=False)
        z = features[members]
        scores[members] = np.abs(z @ vt[0]) / np.linalg.norm(z, axis=1).clip(min=1e-12)
    return scores


def fine_clean_mask(scores: np.ndarray, labels: np.ndarray, threshold: float = 0.5,
                    seed: int = 0) -> np.ndarray:
    """Per class a 2-component GMM on the scores; clean = posterior of the higher-mean one > threshold
    (a class with a single sample keeps it: smoke-scale CIFAR-100 subsets have such classes)."""
    from sklearn.mixture import GaussianMixture

    clean = np.zeros(len(labels), dtype=bool)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        if len(members) < 2:  # no mixture of two components fits one score: keep the sample
            clean[members] = True
            continue
        x = scores[members].reshape(-1, 1)
        gmm = GaussianMixture(n_components=2, covariance_type="full", tol=1e-6, max_iter=100,
                              random_state=seed)
        gmm.fit(x)
        posterior = gmm.predict_proba(x)[:, int(np.argmax(gmm.means_.ravel()))]
        clean[members] = posterior > threshold
    return clean


def selection_f1(selected: np.ndarray, is_clean: np.ndarray) -> float:
    """F1 of a selected set (boolean mask) as a detector of the correctly labelled samples."""
    true_pos = float(np.sum(selected & is_clean))
    if true_pos == 0:
        return 0.0
    precision = true_pos / float(np.sum(selected))
    recall = true_pos / float(np.sum(is_clean))
    return 2 * precision * recall / (precision + recall)
