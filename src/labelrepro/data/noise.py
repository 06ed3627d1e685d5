"""Label-noise models of the five reproduced papers, in one module.

Every generator here is a pure function of its inputs and a caller-supplied `torch.Generator`:
the same generator seed gives bit-identical noisy labels, no global RNG is read or reseeded, and the
input tensor is never modified (a new int64 tensor is returned). That is what lets a Snakemake grid
give every training method of one (seed, dataset, noise spec) cell exactly the same noisy labels
(see `noise_seed`).

Variants and their sources
--------------------------
* `symmetric_noise`: uniform noise. ``allow_true_class=False`` is LIMIT's "uniform"/"error" noise
  (Harutyunyan et al., ICML 2020, seed 001: the label moves to a *different* class, realised flip
  rate = rate). ``allow_true_class=True`` is the ELR/FINE-style symmetric noise used by ALASCA
  (Ko et al., seed 002, following Kim et al. 2021a): the label is redrawn over *all* classes, so the
  realised flip rate is rate·(C−1)/C.
* `asymmetric_noise`: class-conditional flips. CIFAR-10 uses the standard map of Patrini et al.
  (2017) as used by ELR/FINE/ALASCA (truck→automobile, bird→airplane, deer→horse, cat↔dog);
  CIFAR-100 flips each fine class to the next fine class of its real superclass.
* `pair_noise`: LIMIT's CIFAR-10 pair noise (seed 001 §4.2): the same map without dog→cat.
* `cores_instance_noise` (model "instance_cores"): the instance-dependent generator that CORES
  (Cheng et al. 2020; UCSC-REAL/cores `data/utils.py::noisify_instance`) ships and ALASCA copies
  (`dataset/noise_cifar10.py::noisify_instance`): ONE weight matrix W (D, C) applied to the raw
  0–255 pixels. ALASCA's instance-dependent columns use it.
* `instance_dependent_noise` (model "instance"): a per-class variant (one D × C matrix per true class,
  C × D × C, on L2-normalised features) after Xia et al. (NeurIPS 2020); neither CORES nor ALASCA
  uses it.
* `resample_labels_per_step` / `flip_labels_per_step`: seed 003's (Cornacchia et al.) per-SGD-step
  label noise, in its main-text and its Appendix-A reading respectively.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from labelrepro.data.noise_spec import SPEC_KEYS, _check_rate, canonical_spec

__all__ = [
    "CIFAR10_ASYMMETRIC_MAP",
    "CIFAR10_PAIR_MAP",
    "CIFAR100_COARSE_NAMES",
    "CIFAR100_COARSE_OF_FINE",
    "CIFAR100_FINE_NAMES",
    "NOISE_MODELS",
    "SPEC_KEYS",
    "apply_label_noise",
    "asymmetric_noise",
    "canonical_spec",
    "cifar100_asymmetric_targets",
    "cores_instance_noise",
    "cores_instance_transition",
    "flip_labels_per_step",
    "instance_dependent_noise",
    "no_noise",
    "noise_seed",
    "pair_noise",
    "resample_labels_per_step",
    "symmetric_noise",
    "transition_matrix",
]

# ---------------------------------------------------------------------------------------------------
# Class maps
# ---------------------------------------------------------------------------------------------------

#: CIFAR-10 asymmetric map (Patrini et al. 2017; ELR, FINE, ALASCA): truck→automobile, bird→airplane,
#: deer→horse, cat→dog, dog→cat. Classes not listed never flip.
CIFAR10_ASYMMETRIC_MAP: dict[int, int] = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}

#: LIMIT's CIFAR-10 pair noise (seed 001 §4.2 and the authors' code): as above but without dog→cat.
CIFAR10_PAIR_MAP: dict[int, int] = {9: 1, 2: 0, 4: 7, 3: 5}

#: CIFAR-100 fine class names, in label-index order (alphabetical, as in the dataset's meta file).
CIFAR100_FINE_NAMES: tuple[str, ...] = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle",
    "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear",
    "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon",
    "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail",
    "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
    "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
    "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip

#: CIFAR-100 superclass (coarse label) names, in coarse-index order.
CIFAR100_COARSE_NAMES: tuple[str, ...] = (
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
    "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
    "vehicles_1", "vehicles_2",
)  # fmt: skip

#: The standard CIFAR-100 fine→coarse label mapping: entry f is the superclass of fine class f.
#: (The ALASCA/ELR code used consecutive index blocks of 5 instead, which are not superclasses.)
CIFAR100_COARSE_OF_FINE: tuple[int, ...] = (
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3,
    3, 14, 9, 18, 7, 11, 3, 9, 7, 11,
    6, 11, 5, 10, 7, 6, 13, 15, 3, 15,
    0, 11, 1, 10, 12, 14, 16, 9, 11, 5,
    5, 19, 8, 8, 15, 13, 14, 17, 18, 10,
    16, 4, 17, 4, 2, 0, 17, 4, 18, 17,
    10, 3, 2, 12, 12, 16, 12, 1, 9, 19,
    2, 10, 0, 1, 16, 12, 9, 13, 15, 13,
    16, 19, 2, 4, 6, 19, 5, 5, 8, 19,
    18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
)  # fmt: skip

_DATASET_NUM_CLASSES: dict[str, int] = {"cifar10": 10, "cifar100": 100}


def cifar100_asymmetric_targets() -> torch.Tensor:
    """Return the (100,) int64 target of each CIFAR-100 fine class under asymmetric noise.

    Each fine class goes to the next fine class (by fine index, circularly) of its own superclass, so
    the map is a product of twenty 5-cycles and never leaves a superclass. This is the intent of the
    "flip to the next class within the super-class" noise of ELR/FINE/ALASCA; we use the real
    superclasses rather than the consecutive index blocks of the official code.
    """
    targets = torch.empty(100, dtype=torch.int64)
    for coarse in range(len(CIFAR100_COARSE_NAMES)):
        members = [f for f, c in enumerate(CIFAR100_COARSE_OF_FINE) if c == coarse]
        for pos, fine in enumerate(members):
            targets[fine] = members[(pos + 1) % len(members)]
    return targets


def _map_to_targets(mapping: Mapping[int, int], num_classes: int) -> torch.Tensor:
    targets = torch.arange(num_classes, dtype=torch.int64)
    for src, dst in mapping.items():
        targets[src] = dst
    return targets


# ---------------------------------------------------------------------------------------------------
# Argument validation
# ---------------------------------------------------------------------------------------------------


def _check_num_classes(num_classes: Any, minimum: int = 1) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < minimum:
        raise ValueError(f"num_classes must be an integer >= {minimum}, got {num_classes!r}")
    return num_classes


def _check_generator(generator: Any) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    return generator


def _check_labels(labels: Any, num_classes: int) -> torch.Tensor:
    """Validate integer class labels in [0, num_classes) and return them as int64 (never in place)."""
    if not isinstance(labels, torch.Tensor):
        raise ValueError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    if labels.dim() != 1:
        raise ValueError(f"labels must be one-dimensional (N,), got shape {tuple(labels.shape)}")
    if labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"labels must have an integer dtype (int64 expected), got {labels.dtype}")
    labels = labels.to(torch.int64)
    if labels.numel() > 0:
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(
                f"labels must lie in [0, num_classes) = [0, {num_classes}), got min {lo}, max {hi}"
            )
    return labels


def _normalise_dataset(dataset: Any) -> str:
    if not isinstance(dataset, str):
        raise ValueError(f"dataset must be one of {sorted(_DATASET_NUM_CLASSES)}, got {dataset!r}")
    key = dataset.lower().replace("-", "").replace("_", "")
    if key not in _DATASET_NUM_CLASSES:
        raise ValueError(
            f"dataset must be one of {sorted(_DATASET_NUM_CLASSES)} for asymmetric noise, got {dataset!r}"
        )
    return key


def _rand(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=generator.device).to(device)


def _round_half_up(x: float) -> int:
    """round(x) half up; guards against 0.3*20000 = 6000.000000000001 style float error first."""
    return math.floor(round(x, 9) + 0.5)


def _flip_mask(
    eligible: torch.Tensor,
    labels: torch.Tensor,
    rate: float,
    generator: torch.Generator,
    *,
    exact_fraction: bool,
    per_class: bool,
) -> torch.Tensor:
    """Bool mask of corrupted samples among `eligible` ones.

    exact_fraction=False: each eligible sample independently with probability `rate` (one uniform per
    sample, drawn for all N, so masks of increasing rates under one seed are nested).
    exact_fraction=True: exactly round(rate·n) eligible samples uniformly without replacement, where n
    is the number of eligible samples (per class when `per_class`).
    """
    n = labels.numel()
    if not exact_fraction:
        return (_rand(n, generator, labels.device) < rate) & eligible
    mask = torch.zeros(n, dtype=torch.bool, device=labels.device)
    groups = [labels == c for c in torch.unique(labels[eligible]).tolist()] if per_class else [eligible]
    for group in groups:
        idx = torch.nonzero(group & eligible, as_tuple=False).flatten()
        k = _round_half_up(rate * idx.numel())
        perm = torch.randperm(idx.numel(), generator=generator, device=generator.device).to(idx.device)
        mask[idx[perm[:k]]] = True
    return mask


# ---------------------------------------------------------------------------------------------------
# Noise models
# ---------------------------------------------------------------------------------------------------


def no_noise(labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Clean labels: an int64 copy of `labels` (the "none" entry of the registry, for clean baselines)."""
    if not isinstance(labels, torch.Tensor):
        raise ValueError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    return labels.to(torch.int64, copy=True)


def symmetric_noise(
    labels: torch.Tensor,
    rate: float,
    num_classes: int,
    generator: torch.Generator,
    *,
    allow_true_class: bool = False,
    exact_fraction: bool = False,
) -> torch.Tensor:
    """Uniform (symmetric) label noise.

    A sample is *corrupted* with probability `rate` (``exact_fraction=False``: independent Bernoulli
    draws, as in LIMIT's code) or exactly round(rate·N) samples chosen uniformly without replacement
    are corrupted (``exact_fraction=True``, "a fraction of labels"). A corrupted sample then gets

    * ``allow_true_class=False``: a label drawn uniformly from the C−1 *other* classes: LIMIT's
      "uniform"/"error" noise (Harutyunyan et al. 2020, seed 001), realised flip rate = rate;
    * ``allow_true_class=True``: a label drawn uniformly from all C classes, so it may keep its label:
      the symmetric noise of ELR/FINE used by ALASCA (seed 002), realised flip rate = rate·(C−1)/C.

    Both readings exist because the two papers call different processes "symmetric noise" at the same
    nominal rate; the realised rates differ by the factor (C−1)/C.
    """
    num_classes = _check_num_classes(num_classes)
    labels = _check_labels(labels, num_classes)
    rate = _check_rate(rate)
    generator = _check_generator(generator)
    if not allow_true_class and num_classes < 2 and rate > 0:
        raise ValueError("num_classes must be >= 2 for symmetric noise with allow_true_class=False")
    n = labels.numel()
    eligible = torch.ones(n, dtype=torch.bool, device=labels.device)
    mask = _flip_mask(eligible, labels, rate, generator, exact_fraction=exact_fraction, per_class=False)
    if allow_true_class:
        new = torch.randint(0, num_classes, (n,), generator=generator, device=generator.device)
    else:
        # y + U{1..C-1} mod C is uniform over the other C-1 classes.
        offset = torch.randint(1, max(num_classes, 2), (n,), generator=generator, device=generator.device)
        new = (labels + offset.to(labels.device)) % num_classes
    return torch.where(mask, new.to(labels.device), labels)


def _class_map_noise(
    labels: torch.Tensor,
    rate: float,
    targets: torch.Tensor,
    generator: torch.Generator,
    *,
    exact_fraction: bool,
) -> torch.Tensor:
    """Flip each sample of a source class c (targets[c] != c) to targets[c].

    The map is applied once, to the clean labels, so a sample flipped cat→dog is never flipped back
    by dog→cat (the official ALASCA/ELR code applies the pairs sequentially in place and can).
    """
    targets = targets.to(labels.device)
    eligible = targets[labels] != labels
    mask = _flip_mask(eligible, labels, rate, generator, exact_fraction=exact_fraction, per_class=True)
    return torch.where(mask, targets[labels], labels)


def asymmetric_noise(
    labels: torch.Tensor,
    rate: float,
    dataset: str,
    generator: torch.Generator,
    *,
    exact_fraction: bool = False,
) -> torch.Tensor:
    """Class-conditional ("asymmetric") label noise of ELR/FINE as used by ALASCA (seed 002).

    * ``dataset="cifar10"``: truck→automobile (9→1), bird→airplane (2→0), deer→horse (4→7),
      cat→dog (3→5), dog→cat (5→3) (Patrini et al. 2017); other classes never flip.
    * ``dataset="cifar100"``: every fine class flips to the next fine class of its real superclass
      (see `cifar100_asymmetric_targets`).

    Each sample of a source class flips with probability `rate`, or, with ``exact_fraction=True``,
    exactly round(rate·n_c) samples of each source class c flip. The map is applied once from the
    clean labels. Dataset names are matched case-insensitively, ignoring '-' and '_'.
    """
    key = _normalise_dataset(dataset)
    num_classes = _DATASET_NUM_CLASSES[key]
    labels = _check_labels(labels, num_classes)
    rate = _check_rate(rate)
    generator = _check_generator(generator)
    if key == "cifar10":
        targets = _map_to_targets(CIFAR10_ASYMMETRIC_MAP, 10)
    else:
        targets = cifar100_asymmetric_targets()
    return _class_map_noise(labels, rate, targets, generator, exact_fraction=exact_fraction)


def pair_noise(labels: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """LIMIT's CIFAR-10 pair noise (Harutyunyan et al. 2020, seed 001 §4.2 / Table 7).

    With probability `rate`, independently per sample: truck→automobile (9→1), bird→airplane (2→0),
    deer→horse (4→7), cat→dog (3→5). Unlike the asymmetric map there is no dog→cat; all other classes
    are untouched. Labels must be CIFAR-10 labels in [0, 10).
    """
    labels = _check_labels(labels, 10)
    rate = _check_rate(rate)
    generator = _check_generator(generator)
    targets = _map_to_targets(CIFAR10_PAIR_MAP, 10)
    return _class_map_noise(labels, rate, targets, generator, exact_fraction=False)


def _truncated_normal(
    n: int, mean: float, std: float, low: float, high: float, generator: torch.Generator
) -> torch.Tensor:
    """n draws of N(mean, std²) truncated to [low, high], by inverse CDF with the generator (float64)."""
    u = torch.rand(n, generator=generator, device=generator.device, dtype=torch.float64).cpu()
    if std == 0.0:
        return torch.full((n,), min(max(mean, low), high), dtype=torch.float64)
    a = torch.special.ndtr(torch.tensor((low - mean) / std, dtype=torch.float64))
    b = torch.special.ndtr(torch.tensor((high - mean) / std, dtype=torch.float64))
    # Keep the quantile strictly inside (0, 1) so ndtri stays finite.
    p = (a + u * (b - a)).clamp(1e-300, 1.0 - 1e-16)
    return (mean + std * torch.special.ndtri(p)).clamp(low, high)


def _check_instance_args(
    labels: Any, rate: Any, rate_std: Any, features: Any, num_classes: int, generator: Any
) -> tuple[torch.Tensor, float, float, torch.Generator, torch.Tensor]:
    """Validated arguments of the instance-dependent generators; `features` flattened to (N, D)."""
    labels = _check_labels(labels, num_classes)
    rate = _check_rate(rate)
    generator = _check_generator(generator)
    if isinstance(rate_std, bool) or not isinstance(rate_std, int | float) or not rate_std >= 0:
        raise ValueError(f"rate_std must be a number >= 0, got {rate_std!r}")
    if not isinstance(features, torch.Tensor):
        raise ValueError(f"features must be a torch.Tensor of shape (N, ...), got {type(features).__name__}")
    n = labels.numel()
    if features.dim() < 1 or features.shape[0] != n:
        raise ValueError(
            f"features must have one row per label: expected shape ({n}, ...), got {tuple(features.shape)}"
        )
    flat = features.reshape(n, -1) if n else features  # an empty batch has nothing to flatten
    if n and flat.shape[1] == 0:
        raise ValueError("features must have at least one feature per sample")
    return labels, rate, float(rate_std), generator, flat


def instance_dependent_noise(
    labels: torch.Tensor,
    features: torch.Tensor,
    rate: float,
    num_classes: int,
    generator: torch.Generator,
    *,
    rate_std: float = 0.1,
    normalize_features: bool = True,
) -> torch.Tensor:
    """Per-class instance-dependent label noise after Xia et al. (NeurIPS 2020, "Part-dependent label
    noise"), model "instance".

    Not the generator of CORES (Cheng et al. 2020) or ALASCA (seed 002): both ship one shared D × C
    matrix on raw pixels, which is `cores_instance_noise` (model "instance_cores"). This variant draws
    one matrix per true class and normalises the features:

    1. per-sample flip rates q_i ~ N(rate, rate_std²) truncated to [0, 1];
    2. W ~ N(0, 1) of shape (C, D, C), D the flattened feature dimension;
    3. for sample i with label y: s = x_i · W[y]; s[y] = −∞; P(ỹ = j) = q_i·softmax(s)_j for j ≠ y,
       P(ỹ = y) = 1 − q_i; ỹ is drawn from P.

    Implementation: the flip (prob q_i) and the flip target (Gumbel-max over s, which samples exactly
    softmax(s) and gives the true class, at −∞, probability zero) are drawn separately; the joint law
    is the one above. All randomness comes from `generator`; no global RNG is read or reseeded.

    Features: each sample is flattened and, with ``normalize_features=True`` (default), scaled to unit
    L2 norm, so every score x_i·W[y][:, j] is N(0, 1) whatever the pixel scale or D. Raw 0–255 pixels
    (what CORES/ALASCA feed their generator) give scores of std ≈ ‖x‖ ~ 10⁴, which make the softmax an
    arg-max, i.e. a deterministic flip target per sample; per-sample normalisation keeps the target
    random and feature-dependent, and, unlike dataset-wide standardisation, a sample's noise does not
    depend on the other samples. ``normalize_features=False`` keeps the raw scale. All-zero feature
    rows stay zero (uniform flip target).

    Note: truncation shifts the mean flip rate near the ends of [0, 1] (rate=0 gives E[q] ≈ 0.08
    with rate_std=0.1), as in the original generator; use model "none" for clean labels.
    """
    num_classes = _check_num_classes(num_classes, minimum=2)
    labels, rate, rate_std, generator, flat = _check_instance_args(
        labels, rate, rate_std, features, num_classes, generator
    )
    n = labels.numel()
    if n == 0:
        return labels.clone()
    dim = flat.shape[1]

    q = _truncated_normal(n, rate, rate_std, 0.0, 1.0, generator)
    weights = torch.randn(num_classes, dim, num_classes, generator=generator, device=generator.device).cpu()
    u_flip = torch.rand(n, generator=generator, device=generator.device, dtype=torch.float64).cpu()
    u_target = torch.rand(n, num_classes, generator=generator, device=generator.device, dtype=torch.float64)
    gumbel = -torch.log(-torch.log(u_target.cpu()))

    labels_cpu = labels.cpu()
    scores = torch.empty(n, num_classes, dtype=torch.float64)
    for c in torch.unique(labels_cpu).tolist():
        idx = torch.nonzero(labels_cpu == c, as_tuple=False).flatten()
        x = flat[idx.to(flat.device)].cpu().to(torch.float64)
        if not torch.isfinite(x).all():
            raise ValueError("features must be finite")
        if normalize_features:
            x = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
        scores[idx] = x @ weights[c].to(torch.float64)
    scores[torch.arange(n), labels_cpu] = -math.inf
    target = torch.argmax(scores + gumbel, dim=1)
    noisy = torch.where(u_flip < q, target, labels_cpu)
    return noisy.to(labels.device)


_CORES_CHUNK = 2048  # samples per float64 matmul block (2048 × 3072 × 8 B = 50 MB for CIFAR)


def cores_instance_transition(
    features: torch.Tensor, labels: torch.Tensor, flip_rates: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Per-sample transition rows P(ỹ_i = j | x_i, y_i) of the CORES/ALASCA generator, float64 (N, C).

    s_i = x_i · W (features as given, no rescaling; W of shape (D, C) shared by all classes); the true
    class's score is set to −∞; row_i = q_i · softmax(s_i), then row_i[y_i] = 1 − q_i. So sample i keeps
    its label with probability exactly 1 − q_i, and a flip goes to class j ≠ y_i with probability
    ∝ exp(s_ij). Computed on the CPU in float64, in blocks of samples.
    """
    n = labels.numel()
    flat = features.reshape(n, -1)
    w = weights.detach().cpu().to(torch.float64)
    if w.dim() != 2 or w.shape[0] != flat.shape[1]:
        raise ValueError(f"weights must have shape ({flat.shape[1]}, C), got {tuple(w.shape)}")
    labels_cpu = labels.cpu()
    q = flip_rates.detach().cpu().to(torch.float64).reshape(n)
    rows = torch.empty(n, w.shape[1], dtype=torch.float64)
    for start in range(0, n, _CORES_CHUNK):
        stop = min(start + _CORES_CHUNK, n)
        x = flat[start:stop].detach().cpu().to(torch.float64)
        if not torch.isfinite(x).all():
            raise ValueError("features must be finite")
        scores = x @ w
        own = labels_cpu[start:stop].view(-1, 1)
        scores.scatter_(1, own, -math.inf)
        block = q[start:stop, None] * torch.softmax(scores, dim=1)
        block.scatter_(1, own, (1.0 - q[start:stop]).view(-1, 1))
        rows[start:stop] = block
    return rows


def _sample_rows(rows: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF draw of one class per row of probabilities `rows` (N, C) from uniforms u (N,) in
    [0, 1): class j with cum[j−1] ≤ u·total < cum[j], so a class of probability 0 is never drawn."""
    cum = rows.cumsum(dim=1)
    v = (u.to(rows.dtype) * cum[:, -1]).view(-1, 1)
    return torch.searchsorted(cum, v, right=True).view(-1).clamp_max(rows.shape[1] - 1)


def cores_instance_noise(
    labels: torch.Tensor,
    features: torch.Tensor,
    rate: float,
    num_classes: int,
    generator: torch.Generator,
    *,
    rate_std: float = 0.1,
) -> torch.Tensor:
    """Instance-dependent label noise as CORES (Cheng et al. 2020) ships it and ALASCA (seed 002) uses it,
    model "instance_cores" (UCSC-REAL/cores `data/utils.py::noisify_instance`; jongwooko/ALASCA
    `dataset/noise_cifar10.py::noisify_instance`, the same code):

    1. per-sample flip rates q_i ~ N(rate, rate_std²) restricted to (0, 1) (the reference rejects draws
       outside; here the same truncated law by inverse CDF);
    2. ONE matrix W ~ N(0, 1) of shape (D, C), D the flattened feature dimension, shared by all classes;
    3. s_i = x_i · W on the features *as given*: the reference feeds the raw 0–255 pixels (our trainers
       pass the uint8 images as floats); s_i[y_i] = −∞, P_i = q_i·softmax(s_i), P_i[y_i] = 1 − q_i
       (`cores_instance_transition`); ỹ_i is drawn from P_i.

    The realised flip probability of sample i is exactly q_i, so the expected flip rate is E[q] (= rate
    unless the truncation bites: rate 0.4 ± 0.1 loses 3·10⁻⁵ of mass). At raw pixel scale the scores
    differ by thousands, so the flip target is in effect the arg-max of s_i over the other classes: a
    deterministic function of the image. Scaling the features changes the labels (the pixel scale is
    the softmax's temperature).

    Randomness, all from `generator` in this order: q (N, float64), W (D × C, float64), one uniform per
    sample (float64) for the inverse-CDF draw. Unlike the reference, no global RNG is reseeded (it calls
    ``np.random.seed(0)``); the pixel order of the flattening does not matter in law (W's entries are
    i.i.d.), so NCHW and the reference's HWC flattening give the same distribution.
    """
    num_classes = _check_num_classes(num_classes, minimum=2)
    labels, rate, rate_std, generator, flat = _check_instance_args(
        labels, rate, rate_std, features, num_classes, generator
    )
    n = labels.numel()
    if n == 0:
        return labels.clone()
    dim = flat.shape[1]

    q = _truncated_normal(n, rate, rate_std, 0.0, 1.0, generator)
    weights = torch.randn(dim, num_classes, generator=generator, device=generator.device, dtype=torch.float64)
    u = torch.rand(n, generator=generator, device=generator.device, dtype=torch.float64).cpu()
    rows = cores_instance_transition(features, labels, q, weights)
    return _sample_rows(rows, u).to(labels.device)


# ---------------------------------------------------------------------------------------------------
# Seed 003: per-SGD-step label noise
# ---------------------------------------------------------------------------------------------------


def resample_labels_per_step(
    labels: torch.Tensor,
    p: float,
    generator: torch.Generator,
    *,
    classes: torch.Tensor | None = None,
    num_classes: int | None = None,
) -> torch.Tensor:
    """Seed 003's (Cornacchia et al.) per-step label noise, main-text reading.

    Called on every SGD step's (mini-)batch: each label is independently *replaced* with probability
    `p` by a label drawn uniformly from the label set, so it may stay the same ("the label y is changed
    with probability p to a uniform random label"; "with p = 1 the label is uniform"). The expected
    fraction of changed labels is p·(K−1)/K for K labels (p/2 for binary ±1 labels).

    The label set is either ``classes`` (e.g. ``torch.tensor([-1, 1])`` for the binary theory
    setting) or ``range(num_classes)``; give exactly one. The output has the dtype of `labels`
    (int64 class indices, or the float32 ±1 labels of `labelrepro.data.synthetic`).

    The other reading, Appendix A's sign flip c = 2b − 1 with b ~ Bernoulli(1 − p), is
    `flip_labels_per_step`; at p = 1 it gives −y deterministically rather than uniform labels, so this
    function is the default reading and that one equals it with p doubled (for ±1 labels, p ≤ 1/2).
    """
    if (classes is None) == (num_classes is None):
        raise ValueError("give exactly one of classes=(tensor of label values) or num_classes=C")
    p = _check_rate(p, "p")
    generator = _check_generator(generator)
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1:
        raise ValueError("labels must be a one-dimensional torch.Tensor (N,)")
    if num_classes is not None:
        num_classes = _check_num_classes(num_classes)
        values = torch.arange(num_classes, device=labels.device)
    else:
        if not isinstance(classes, torch.Tensor) or classes.dim() != 1 or classes.numel() == 0:
            raise ValueError("classes must be a non-empty one-dimensional torch.Tensor of label values")
        values = torch.unique(classes.to(labels.device))
    values = values.to(labels.dtype)
    if labels.numel() > 0 and not torch.isin(labels, values).all():
        raise ValueError(f"labels must take values in the label set {values.tolist()}")
    n = labels.numel()
    replace = _rand(n, generator, labels.device) < p
    pick = torch.randint(0, values.numel(), (n,), generator=generator, device=generator.device)
    return torch.where(replace, values[pick.to(labels.device)], labels)


def flip_labels_per_step(labels: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Seed 003's Appendix-A reading for ±1 labels: y ↦ c·y with c = 2b − 1, b ~ Bernoulli(1 − p).

    Each label's sign flips independently with probability `p` (so exactly a fraction ≈ p changes,
    versus p/2 for `resample_labels_per_step` with the same p). Output has the dtype of `labels`.
    """
    p = _check_rate(p, "p")
    generator = _check_generator(generator)
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1:
        raise ValueError("labels must be a one-dimensional torch.Tensor (N,)")
    if labels.numel() > 0 and not ((labels == 1) | (labels == -1)).all():
        raise ValueError("labels must take values in {-1, +1} for flip_labels_per_step")
    keep = _rand(labels.numel(), generator, labels.device) >= p  # b = 1 with probability 1 - p
    return torch.where(keep, labels, -labels)


# ---------------------------------------------------------------------------------------------------
# Registry, config entry point, seeds, diagnostics
# ---------------------------------------------------------------------------------------------------

#: name -> generator function (signatures differ; `apply_label_noise` adapts a spec dict to each).
NOISE_MODELS: dict[str, Callable[..., torch.Tensor]] = {
    "none": no_noise,
    "symmetric": symmetric_noise,
    "asymmetric": asymmetric_noise,
    "pair": pair_noise,
    "instance": instance_dependent_noise,
    "instance_cores": cores_instance_noise,
}

def apply_label_noise(
    spec: Mapping[str, Any],
    labels: torch.Tensor,
    generator: torch.Generator,
    *,
    num_classes: int,
    dataset: str | None = None,
    features: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply the noise model described by a config dict, e.g.
    ``{"model": "symmetric", "rate": 0.5, "allow_true_class": False, "exact_fraction": False}``.

    ``dataset`` is needed by "asymmetric" (its class map; its class count must equal num_classes);
    ``features`` (N, ...) by "instance" and "instance_cores" (the raw images for the latter).
    "pair" requires num_classes == 10 (CIFAR-10).
    Model "none" returns an int64 copy of `labels`.
    """
    cfg = canonical_spec(spec)
    model = cfg.pop("model")
    num_classes = _check_num_classes(num_classes)
    if model == "none":
        return no_noise(_check_labels(labels, num_classes))
    if model == "symmetric":
        return symmetric_noise(
            labels,
            cfg["rate"],
            num_classes,
            generator,
            allow_true_class=cfg["allow_true_class"],
            exact_fraction=cfg["exact_fraction"],
        )
    if model == "asymmetric":
        if dataset is None:
            raise ValueError("noise model 'asymmetric' needs dataset= ('cifar10' or 'cifar100')")
        key = _normalise_dataset(dataset)
        if _DATASET_NUM_CLASSES[key] != num_classes:
            raise ValueError(
                f"num_classes={num_classes} does not match dataset {dataset!r} "
                f"({_DATASET_NUM_CLASSES[key]} classes)"
            )
        return asymmetric_noise(labels, cfg["rate"], key, generator, exact_fraction=cfg["exact_fraction"])
    if model == "pair":
        if num_classes != 10:
            raise ValueError(
                f"noise model 'pair' is CIFAR-10 pair noise: num_classes must be 10, got {num_classes}"
            )
        return pair_noise(labels, cfg["rate"], generator)
    # model == "instance" or "instance_cores"
    if features is None:
        raise ValueError(
            f"noise model {model!r} needs features=: a tensor (N, ...) with one row per label "
            "(e.g. the training images), which the flip probabilities depend on"
        )
    if model == "instance_cores":
        return cores_instance_noise(
            labels, features, cfg["rate"], num_classes, generator, rate_std=cfg["rate_std"]
        )
    return instance_dependent_noise(
        labels,
        features,
        cfg["rate"],
        num_classes,
        generator,
        rate_std=cfg["rate_std"],
        normalize_features=cfg["normalize_features"],
    )


def noise_seed(base_seed: int, dataset: str, spec: Mapping[str, Any]) -> int:
    """Derive the seed of a noisy-label draw from (base seed, dataset name, noise spec) only.

    The training method is deliberately not an input, so every method of a grid cell trains on the
    same noisy labels. The spec is canonicalised first (defaults filled in, rate as float), so key
    order and spelled-out defaults do not change the seed. SHA-256 of a canonical JSON encoding is
    used instead of Python's hash(), which is salted per process. Returns an int in [0, 2**63).
    """
    if isinstance(base_seed, bool) or not isinstance(base_seed, int):
        raise ValueError(f"base_seed must be an int, got {base_seed!r}")
    if not isinstance(dataset, str):
        raise ValueError(f"dataset must be a string, got {dataset!r}")
    payload = json.dumps(
        {"seed": base_seed, "dataset": dataset, "spec": canonical_spec(spec)},
        sort_keys=True,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


def transition_matrix(clean: torch.Tensor, noisy: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Empirical noise transition matrix T[i, j] = P(noisy = j | clean = i), float64 (C, C).

    Rows of classes with no clean samples are all zero (not NaN), so a support check sees no mass.
    """
    num_classes = _check_num_classes(num_classes)
    clean = _check_labels(clean, num_classes)
    noisy = _check_labels(noisy, num_classes)
    if clean.shape != noisy.shape:
        raise ValueError(
            f"clean and noisy must have the same shape, got {tuple(clean.shape)} and {tuple(noisy.shape)}"
        )
    counts = torch.bincount((clean * num_classes + noisy).cpu(), minlength=num_classes * num_classes)
    counts = counts.reshape(num_classes, num_classes).to(torch.float64)
    totals = counts.sum(dim=1, keepdim=True)
    return torch.where(totals > 0, counts / totals.clamp_min(1.0), torch.zeros_like(counts))
