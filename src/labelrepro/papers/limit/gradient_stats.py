"""Figs. A1-A3 of seed 001: per-example gradient statistics of the best LIMIT instances (a separate step).

For a training example x with given (possibly noisy) label ỹ, classifier logits a and q's logits b:

- the predicted logit gradient is μ = s(a) − s(b) (`losses.predicted_gradient`, what LIMIT trains with),
- the cross-entropy logit gradient is g = s(a) − onehot(ỹ) (`losses.ce_logit_gradient`),
- Fig. A1 histograms ‖μ‖₂, Fig. A2 ‖μ − g‖₂ = ‖onehot(ỹ) − s(b)‖₂ for correct and incorrect labels,
  with the ROC AUC of that distance as a score for "the label is wrong"; Fig. A3 shows, per given class,
  the 8 training examples of the un-noised training set with the largest distance.

"Best instance" (supplement: "The gradient predictions are done using the best instances of LIMIT") is
read as the LIMIT configuration (any of LIMIT_G/L, ± S, + init., any β/σ) with the highest mean
validation accuracy among the target's cells of the same case (dataset, noise, p, n): the selection of
Tables 4-7 (`selection.limit_selection`) restricted to the LIMIT rows. Its first split's (seed 42)
best-validation nets, saved by the trainer as `seed-<k>/best_nets.pt`, are evaluated (eval mode, no
augmentation) on that run's own training examples, rebuilt from its settings and seed (the same noisy
labels). Nothing is retrained: the figures' cells are the tables' runs.

Beside the paper (limit_figA2): a standard label-issue detector on the same examples, cleanlab's
confident-learning label-quality score (`cleanlab.rank.get_label_quality_scores`, self-confidence) on
out-of-fold predicted probabilities of a cheap CE model (multinomial logistic regression on the pixels,
K-fold, `OOF_SETTINGS`), scored with the same ROC AUC.

Step: `python -m labelrepro limit-gradient-stats` (rule `limit_gradient_stats`) writes one row per
analysed training example (curves.csv; the Fig. A3 examples carry their pixels) and the per-case summary
(aggregate.csv, `limit_gradient_summary`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labelrepro.registry import AGGREGATORS

#: Examples shown per class in Fig. A3.
TOP_PER_CLASS = 8
#: The columns that identify one case (one histogram panel).
CASE_KEYS = ("dataset", "noise_model", "noise_rate", "train_size")
#: Renderers that show the cleanlab baseline: only their targets' step fits the out-of-fold model.
SHOWS_DETECTOR = frozenset({"limit_figA2"})
#: Out-of-fold model of the cleanlab baseline, per scale: folds, PCA width of the pixel features (0 = raw
#: pixels), logistic-regression iterations. Paper scale: 5 folds (cleanlab's default), PCA-256.
OOF_SETTINGS: dict[str, dict[str, int]] = {
    "smoke": {"folds": 3, "pca": 0, "max_iter": 100},
    "paper": {"folds": 5, "pca": 256, "max_iter": 300},
}


# -- the per-example quantities -----------------------------------------------------------------------


def gradient_norms(classifier_logits: Any, q_logits: Any, labels: Any) -> tuple[Any, Any]:
    """(‖μ‖₂, ‖μ − g‖₂) per example: μ = s(a) − s(b) the predicted, g = s(a) − onehot(ỹ) the CE logit
    gradient (torch tensors, (N, C) logits and (N,) labels)."""
    from labelrepro.papers.limit import losses

    mu = losses.predicted_gradient(classifier_logits, q_logits).detach()
    ce = losses.ce_logit_gradient(classifier_logits, labels)
    return mu.norm(dim=1), (mu - ce).norm(dim=1)


def roc_auc(is_positive: Any, score: Any) -> float:
    """ROC AUC of `score` for the positives (scikit-learn); NaN when one class is absent."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(is_positive, dtype=bool)
    if y.all() or not y.any():
        return math.nan
    return float(roc_auc_score(y, np.asarray(score, dtype=np.float64)))


def auc_standard_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley & McNeil (1982) standard error of an ROC AUC from n_pos positives and n_neg negatives."""
    if not (n_pos and n_neg) or math.isnan(auc):
        return math.nan
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc))
    var /= n_pos * n_neg
    return math.sqrt(max(var, 0.0))


def confusing_rank(labels: Any, distance: Any) -> np.ndarray:
    """Per example, its rank (0 = largest distance) among the examples with the same given label; ties
    keep the example order."""
    frame = pd.DataFrame({"label": np.asarray(labels), "distance": np.asarray(distance, dtype=np.float64)})
    order = frame.sort_values(["label", "distance"], ascending=[True, False], kind="stable")
    ranks = order.groupby("label", sort=False).cumcount()
    return ranks.reindex(frame.index).to_numpy()


def oof_label_quality(features: np.ndarray, labels: np.ndarray, num_classes: int, folds: int, pca: int,
                      max_iter: int, seed: int) -> np.ndarray:
    """cleanlab's self-confidence label-quality score (low = likely label issue) from K-fold out-of-fold
    probabilities of a multinomial logistic regression (standardised pixels, optional PCA)."""
    from cleanlab.rank import get_label_quality_scores
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    steps: list[Any] = [StandardScaler()]
    if 0 < pca < min(features.shape):
        steps.append(PCA(pca, random_state=seed))
    steps.append(LogisticRegression(max_iter=max_iter))
    model = make_pipeline(*steps)
    counts = np.bincount(labels, minlength=num_classes)
    stratified = counts[counts > 0].min() >= folds
    splitter = (StratifiedKFold if stratified else KFold)(folds, shuffle=True, random_state=seed)
    probs = np.zeros((len(labels), num_classes))
    for fit, held in splitter.split(features, labels):
        model.fit(features[fit], labels[fit])
        classes = model.classes_
        probs[np.ix_(held, classes)] = model.predict_proba(features[held])
    probs = (probs + 1e-6) / (probs + 1e-6).sum(axis=1, keepdims=True)  # classes unseen in a fold
    return np.asarray(get_label_quality_scores(labels, probs, method="self_confidence"))


# -- the selection of the best LIMIT instance per case ------------------------------------------------


def _best_val(run_dir: Path) -> float:
    metrics = sorted(run_dir.glob("seed-*/metrics.csv"))
    values = [float(pd.read_csv(m)["best_val_acc"].iloc[-1]) for m in metrics]
    if not values:
        raise FileNotFoundError(f"{run_dir} has no seed-*/metrics.csv (train it first)")
    return float(np.mean(values))


def select_best(entries: list[dict[str, Any]], val_acc: dict[str, float]) -> list[dict[str, Any]]:
    """Per case (CASE_KEYS of the cell's settings), the LIMIT cell with the highest mean validation
    accuracy; ties keep the first in grid order (as `selection.limit_selection`). `entries` carry
    `cell`, `settings` and `run`; `val_acc` maps run folder -> mean best validation accuracy."""
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for entry in entries:
        if not str(entry["settings"]["method"]).startswith("limit"):
            continue
        key = tuple(entry["settings"].get(k) for k in CASE_KEYS)
        if key not in best or val_acc[entry["run"]] > val_acc[best[key]["run"]]:
            best[key] = entry
    return list(best.values())


# -- the step -----------------------------------------------------------------------------------------


def run_statistics(settings: Any, seed: int, nets_file: Path, runtime: Any, device: Any,
                   oof: dict[str, int] | None) -> pd.DataFrame:
    """One row per training example of one saved LIMIT run (split `seed`): given and clean label,
    ‖μ‖, ‖μ − g‖, the classifier's and q's predicted classes, the cleanlab score (if `oof`) and the
    example's index in the dataset's training file."""
    import torch

    from labelrepro.engine import image as supervised
    from labelrepro.papers.limit.data import load_raw, make_split, split_indices
    from labelrepro.papers.limit.trainer import build_nets

    s = settings
    job = type("StatsJob", (), {"runtime": runtime, "device": device})()
    raw = load_raw(job, s.dataset)  # type: ignore[arg-type]
    split = make_split(raw, s.dataset, seed=seed, val_fraction=s.val_fraction, train_size=s.train_size,
                       noise_rate=s.noise_rate, test_subset=s.test_subset, device=device,
                       official_normalization=s.official_normalization, noise_model=s.noise_model)
    train_idx, _ = split_indices(len(raw.train_labels), s.val_fraction, s.train_size, seed)
    nets = build_nets(s, split.num_classes, seed, device)
    state = torch.load(nets_file, map_location=device, weights_only=True)
    nets.load_state_dict(state)
    assert nets.predictor is not None
    for module in nets.modules():
        module.eval()
    norms, dists, clf_pred, q_pred = [], [], [], []
    with torch.no_grad():
        for _, x, y in supervised.eval_batches(split.train, s.eval_batch_size):
            a, b = nets.classifier(x), nets.predictor(x)
            norm, dist = gradient_norms(a, b, y)
            norms.append(norm.double().cpu())
            dists.append(dist.double().cpu())
            clf_pred.append(a.argmax(1).cpu())
            q_pred.append(b.argmax(1).cpu())
    given = split.train.labels.cpu().numpy()
    clean = split.clean_train.cpu().numpy()
    frame = pd.DataFrame({
        "sample": np.arange(len(given)),
        "dataset_index": np.asarray(train_idx),
        "label": given,
        "true_label": clean,
        "noisy": given != clean,
        "pred_norm": torch.cat(norms).numpy(),
        "distance": torch.cat(dists).numpy(),
        "predicted": torch.cat(clf_pred).numpy(),
        "q_predicted": torch.cat(q_pred).numpy(),
    })
    frame["confusing_rank"] = confusing_rank(frame["label"], frame["distance"])
    if oof is not None:
        pixels = raw.train_images[torch.from_numpy(np.asarray(train_idx))].flatten(1).float().numpy() / 255.0
        frame["cleanlab_quality"] = oof_label_quality(pixels, given, split.num_classes, seed=seed, **oof)
    images = raw.train_images[torch.from_numpy(np.asarray(train_idx))]
    shown = frame["confusing_rank"] < TOP_PER_CLASS
    frame["image_shape"] = ""
    frame["image_hex"] = ""
    shape = "x".join(str(v) for v in images.shape[1:])
    frame.loc[shown, "image_shape"] = shape
    frame.loc[shown, "image_hex"] = [images[i].contiguous().numpy().tobytes().hex()
                                     for i in np.flatnonzero(shown.to_numpy())]
    return frame


def target_gradient_stats(target: str, scale: str, runtime_json: str, curves_out: str | Path,
                          aggregate_out: str | Path) -> None:
    """The step of a target whose aggregate is `limit_gradient_summary`: per case the best LIMIT run's
    first split -> the per-example table (curves.csv) and the per-case summary (aggregate.csv).
    `runtime_json` maps each dataset to its runtime options (the stand-in folder at smoke scale)."""
    import torch

    from labelrepro.core import atomic
    from labelrepro.core.config import ConfigError, settings_from_dict
    from labelrepro.core.device import resolve_device
    from labelrepro.engine.runtime import Runtime
    from labelrepro.experiment import Plan, load_experiments
    from labelrepro.papers.limit.settings import LimitSettings
    from labelrepro.papers.limit.trainer import BEST_NETS_FILE

    experiments = load_experiments()
    if target not in experiments:
        raise ConfigError(f"unknown target '{target}'; known: {', '.join(experiments)}")
    runtimes = {name: settings_from_dict(Runtime, value, f"runtime options of {name}")
                for name, value in json.loads(runtime_json).items()}
    first = next(iter(runtimes.values()))
    device = resolve_device(first.device, Path(first.checkpoint_dir) / ".gpu-locks")
    if first.torch_threads:
        torch.set_num_threads(first.torch_threads)
    cells = experiments[target].cells(scale)
    entries = []
    for entry in Plan(experiments).manifest(target, scale):
        entries.append({**entry, "settings": cells[entry["cell"]].settings})
    val_acc = {e["run"]: _best_val(Path(e["run"])) for e in entries
               if str(e["settings"]["method"]).startswith("limit")}
    frames = []
    for entry in select_best(entries, val_acc):
        run = Path(entry["run"])
        seed_dir = sorted(run.glob("seed-*"), key=lambda p: int(p.name.split("-")[1]))[0]
        nets_file = seed_dir / BEST_NETS_FILE
        if not nets_file.exists():
            raise ConfigError(f"{nets_file} is missing: the run was trained before LIMIT runs saved their "
                              "best nets; delete the run folder and train it again")
        config = json.loads((seed_dir / "meta.json").read_text())["config"]
        settings = settings_from_dict(LimitSettings, config["settings"], str(seed_dir))
        seed = int(seed_dir.name.split("-")[1])
        oof = OOF_SETTINGS[scale] if experiments[target].render in SHOWS_DETECTOR else None
        frame = run_statistics(settings, seed, nets_file, runtimes[settings.dataset], device, oof)
        point = {k: getattr(settings, k) for k in CASE_KEYS}
        point.update(method=settings.method, beta=settings.beta, sigma=settings.sigma)
        for i, (key, value) in enumerate({"cell": entry["cell"], **point, "seed": seed}.items()):
            frame.insert(i, key, value)
        frame["val_acc"] = val_acc[entry["run"]]
        frame["run"] = run.name
        frames.append(frame)
    if not frames:
        raise ConfigError(f"{target} lists no LIMIT cell at scale {scale}")
    samples = pd.concat(frames, ignore_index=True)
    atomic.write_csv(curves_out, samples)
    atomic.write_csv(aggregate_out, limit_gradient_summary(samples))


# -- the summary (aggregate.csv) ----------------------------------------------------------------------


@AGGREGATORS.register("limit_gradient_summary")
def limit_gradient_summary(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per case: the selected instance, example counts, the ROC AUC (and its Hanley-McNeil
    standard error) of ‖μ − g‖ and of ‖μ‖ for "label is wrong", and of the cleanlab score (1 − quality);
    how often the classifier disagrees with the given label, overall and among Fig. A3's examples."""
    records = []
    for _, case in samples.groupby("cell", sort=False):
        noisy = case["noisy"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
        n_pos, n_neg = int(noisy.sum()), int((~noisy).sum())
        record = case.iloc[0][["cell", *CASE_KEYS, "method", "beta", "sigma", "seed", "val_acc"]].to_dict()
        record.update(n_examples=len(case), n_noisy=n_pos, noise_realised=n_pos / max(len(case), 1))
        scores = {"distance": case["distance"], "norm": case["pred_norm"]}
        if "cleanlab_quality" in case and case["cleanlab_quality"].notna().all():
            scores["cleanlab"] = 1.0 - case["cleanlab_quality"]
        for name, score in scores.items():
            auc = roc_auc(noisy, score)
            record[f"auc_{name}"] = auc
            record[f"auc_{name}_se"] = auc_standard_error(auc, n_pos, n_neg)
        for name, column in (("norm", "pred_norm"), ("distance", "distance")):
            record[f"{name}_clean_median"] = float(case.loc[~noisy, column].median()) if n_neg else math.nan
            record[f"{name}_noisy_median"] = float(case.loc[noisy, column].median()) if n_pos else math.nan
        disagree = case["predicted"].to_numpy() != case["label"].to_numpy()
        top = case["confusing_rank"].to_numpy() < TOP_PER_CLASS
        record["disagree_rate"] = float(disagree.mean())  # classifier's prediction != given label
        record["top_disagree_rate"] = float(disagree[top].mean())  # among Fig. A3's examples
        records.append(record)
    return pd.DataFrame(records)
