"""Figures 1 and 2b of seed 002 (ALASCA): penultimate-representation and Jacobian norms of saved models.

Theorem 3.5 says the label-smoothing regulariser Ω pulls the penultimate representation h(x) to 0;
Theorem 3.7 that this shrinks the Jacobian. Figure 1 shows, for ULS with growing α, the class-wise mean
of ‖h(x)‖₂ (left) and the distribution of the penultimate layer's Jacobian norm (right); Figure 2b the
Jacobian norms of clean vs noisy training samples under ULS and ALS.

Here h(x) is the ResNet's pooled penultimate feature (the main head's input, 8w = 512 values) and
J(x) = ∂h(x)/∂x ∈ R^{Q×D} its Jacobian with respect to the (normalised) input image, D = 3·32·32. ‖J‖_F²
is estimated without forming J: for v ~ N(0, I_Q), E‖vᵀJ‖² = tr(JᵀE[vvᵀ]J) = ‖J‖_F², so the mean of
‖vᵀJ‖² over K independent v is unbiased (one vector-Jacobian product each, `torch.func.vjp`, one forward
pass for all K). Its variance is 2‖JJᵀ‖_F²/K ≤ 2‖J‖_F⁴/K. The network is in eval mode, so BN uses its
running statistics and samples do not interact: a batch's VJP gives every sample's own vᵀJ_i.

This is a separate DAG step (`python -m labelrepro alasca-model-stats`, rule `alasca_model_stats`): it
reads each run's `seed-<k>/model.pt` (written with `save_model: true`), rebuilds the run's training
data from its settings and seed (the same noisy labels), and writes one row per analysed training
sample (`curves.csv`) and the per-run summary of `alasca_model_stats` (`aggregate.csv`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import torch

from labelrepro.core.config import settings_from_dict
from labelrepro.core.device import resolve_device
from labelrepro.core.seeding import derive_seed, make_generator
from labelrepro.papers.alasca.figures import model_stats_summary


def penultimate_norms(features: torch.Tensor) -> torch.Tensor:
    """‖h(x_i)‖₂ per sample of a (B, Q) feature batch."""
    return features.flatten(1).norm(dim=1)


def classwise_mean(values: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Mean of `values` per class (NaN for a class without samples), shape (num_classes,)."""
    sums = torch.zeros(num_classes, dtype=torch.float64).index_add_(0, labels, values.double())
    counts = torch.bincount(labels, minlength=num_classes).double()
    return torch.where(counts > 0, sums / counts.clamp(min=1), torch.full_like(sums, float("nan")))


def jacobian_frobenius_sq(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, projections: int,
                          generator: torch.Generator) -> torch.Tensor:
    """Unbiased per-sample estimate of ‖∂fn(x)_i/∂x_i‖_F², the mean of ‖v_kᵀJ_i‖² over `projections`
    Gaussian vectors v_k ~ N(0, I_Q) (Q = fn's output width); `fn` must treat samples independently."""
    out, vjp = torch.func.vjp(fn, x)
    total = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
    for _ in range(projections):
        v = torch.randn(out.shape, generator=generator, device=generator.device, dtype=out.dtype)
        (row,) = vjp(v.to(out.device))
        total += row.flatten(1).double().square().sum(dim=1)
    return (total / projections).detach()


def exact_jacobian_frobenius_sq(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """‖J_i‖_F² from the full per-sample Jacobian (`torch.func.jacrev`): small models and tests only."""
    single = lambda xi: fn(xi.unsqueeze(0)).squeeze(0)  # noqa: E731
    jac = torch.func.vmap(torch.func.jacrev(single))(x)
    return jac.flatten(1).double().square().sum(dim=1)


def analysis_subset(n_train: int, n: int, seed: int) -> torch.Tensor:
    """The training positions analysed: all, or a fixed random `n` of them (from the run's seed)."""
    if n <= 0 or n >= n_train:
        return torch.arange(n_train)
    generator = torch.Generator().manual_seed(derive_seed(seed, "alasca-analysis"))
    return torch.randperm(n_train, generator=generator)[:n].sort().values


@torch.no_grad()
def _features(backbone: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    return backbone.forward_features(images)[-1]


def model_statistics(settings: Any, seed: int, state: dict[str, torch.Tensor], runtime: Any,
                     device: torch.device, batch_size: int = 250) -> pd.DataFrame:
    """One row per analysed training sample of one saved ALASCA-trainer run: given and true label,
    noisy or not, ‖h(x)‖₂, the ‖J‖_F² estimate and ‖J‖_F (its square root)."""
    from labelrepro.engine.image import load_splits
    from labelrepro.papers.alasca.trainer import build_network

    job = SimpleNamespace(runtime=runtime, device=device)
    splits = load_splits(job, settings.dataset, settings.train_subset, settings.test_subset,  # type: ignore[arg-type]
                         settings.label_noise, seed)
    net = build_network(settings, splits.num_classes, seed).to(device)
    net.load_state_dict(state)
    net.eval()
    backbone = net.backbone
    index = analysis_subset(len(splits.train), settings.analysis_samples, seed).to(device)
    generator = make_generator(seed, "jacobian-projections")  # CPU: the same draws on any device
    rows: list[pd.DataFrame] = []
    for start in range(0, len(index), batch_size):
        part = index[start:start + batch_size]
        images = splits.train.images[part].float()
        norms = penultimate_norms(_features(backbone, images))
        jac_sq = jacobian_frobenius_sq(lambda x: backbone.forward_features(x)[-1], images,
                                       settings.jacobian_projections, generator)
        given, clean = splits.train.labels[part], splits.clean_labels[part]
        rows.append(pd.DataFrame({
            "sample": part.cpu().numpy(),
            "label": given.cpu().numpy(),
            "true_label": clean.cpu().numpy(),
            "noisy": (given != clean).cpu().numpy(),
            "feature_norm": norms.double().cpu().numpy(),
            "jacobian_sq": jac_sq.cpu().numpy(),
            "jacobian_norm": jac_sq.clamp(min=0).sqrt().cpu().numpy(),
        }))
    return pd.concat(rows, ignore_index=True)


def target_model_stats(target: str, scale: str, runtime_json: str, curves_out: str | Path,
                       aggregate_out: str | Path) -> None:
    """The analysis step of a target whose aggregate is `alasca_model_stats`: every run's saved model of
    every cell -> the per-sample table (curves.csv) and its per-run summary (aggregate.csv)."""
    from labelrepro.core import atomic
    from labelrepro.core.config import ConfigError
    from labelrepro.engine.runtime import Runtime
    from labelrepro.experiment import Plan, load_experiments
    from labelrepro.papers.alasca.settings import AlascaSettings

    experiments = load_experiments()
    if target not in experiments:
        raise ConfigError(f"unknown target '{target}'; known: {', '.join(experiments)}")
    runtime = settings_from_dict(Runtime, json.loads(runtime_json), "runtime options")
    device = resolve_device(runtime.device, Path(runtime.checkpoint_dir) / ".gpu-locks")
    if runtime.torch_threads:
        torch.set_num_threads(runtime.torch_threads)
    frames = []
    for entry in Plan(experiments).manifest(target, scale):
        for seed_dir in sorted(Path(entry["run"]).glob("seed-*")):
            model = seed_dir / "model.pt"
            if not model.exists():
                raise ConfigError(f"{model} is missing: the run must be trained with `save_model: true`")
            config = json.loads((seed_dir / "meta.json").read_text())["config"]
            settings = settings_from_dict(AlascaSettings, config["settings"], str(seed_dir))
            state = torch.load(model, map_location=device, weights_only=True)
            frame = model_statistics(settings, int(config["seed"]), state, runtime, device)
            frame.insert(0, "cell", entry["cell"])
            for i, (key, value) in enumerate(entry["point"].items(), start=1):
                frame.insert(i, key, value)
            frame.insert(len(entry["point"]) + 1, "seed", int(config["seed"]))
            frame["run"] = Path(entry["run"]).name
            frames.append(frame)
    samples = pd.concat(frames, ignore_index=True)
    atomic.write_csv(curves_out, samples)
    atomic.write_csv(aggregate_out, model_stats_summary(samples))
