"""Every GPU measurement in one command (`make bench-gpu`): the per-epoch cost of each CIFAR target's
paper-scale runs, and the loader comparison. Writes benchmarks/results/gpu_costs.csv, from which
`python -m labelrepro targets` fills the README's paper-scale cost column.

Targets: every loaded experiment whose runs read CIFAR-10/100 (today fig1b, fig3a, alasca_table3,
alasca_table4). Their paper-scale runs are grouped into *configurations* of equal cost: runs whose
settings differ only in the label noise (`label_noise`, `cdr_clip_rate`: which labels are trained on,
not the work of a step; CDR's top-k size follows the noise rate, a negligible difference) or in the
seed share one measurement. fig3a's copy depths, ALASCA's methods and AC types are configurations of
their own.

One configuration is measured by driving its trainer's real `Run` (`TRAINERS[name].load().RUN`, the
code a training job runs: data set-up, the trainer's own step, scheduler, evaluation) on FAKE CIFAR
files of the real size (`labelrepro.data.fake`; the machine needs no network, and the cost does not
depend on pixel values), at the paper's batch size, with `train_subset = steps x batch size` so that
one `advance()` (one epoch of the run) is `--steps` training steps plus the trainer's real evaluation.
`--warmup` epochs (allocator, cuDNN autotuning) are run first and not timed; then one epoch is timed,
CUDA synchronised (the fake files are parsed once and every run gets its own copy: set-up, not
timed). Inside it the training batches (`DeviceBatchLoader.__iter__`) and the evaluation batches
(`labelrepro.engine.image.eval_batches`, per split) are timed, so the full epoch extrapolates as

    ceil(real training size x part trained on / batch) x (seconds per step)
      + per evaluated split: its evaluation time x (real split size / measured split size)
      + the rest of the epoch (bookkeeping, unscaled).

A run with a first stage (ALASCA's HAR: `stage1` CE epochs, then a fresh network) is timed in both
stages: after the stage-1 epoch, `position` jumps to the stage boundary (as a resumed run would stand),
the boundary epoch (uncertainty estimate, fresh network) is a warm-up, and the next epoch is timed.

A target's projected device-hours = sum over its configurations of minutes/epoch x epochs x runs (runs
shared with another target are counted in both, i.e. the cost of building that target alone).

Everything runs within `--budget-s` seconds (default 420, so the whole command stays under 8 minutes
on one GPU): a configuration that would not fit is recorded as `skipped (budget)` and the command
exits with status 3 after writing the CSV (as it does when a configuration or the loader comparison
fails: the error is recorded in its row and the others are measured; the CSV is rewritten after every
configuration, so even a killed command leaves what it measured). Without CUDA it prints one line and
exits with status 2; `--allow-cpu` runs it on the CPU (for testing the script, with tiny `--steps` and
`--train-images`).

    python benchmarks/bench_gpu.py [--budget-s 420] [--steps 40] [--warmup 1] [--targets fig1b ...]
    python benchmarks/bench_gpu.py --list        # the configurations, measuring nothing
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import torch

START = time.perf_counter()
REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "gpu_costs.csv"
CIFAR = ("cifar10", "cifar100")
CIFAR_TRAIN, CIFAR_TEST = 50_000, 10_000  # the real split sizes (both CIFARs)
#: Settings that change which labels a run trains on (or a threshold value), not the work of a step.
COST_NEUTRAL = ("label_noise", "cdr_clip_rate")
LOADER_RESERVE_S = 45.0  # budget kept for the loader comparison
NO_CUDA = (
    "bench_gpu: no CUDA device (torch.cuda.is_available() is False): run `make bench-gpu` on a GPU "
    "machine (or pass --allow-cpu to try the script on the CPU with tiny sizes)"
)
COLUMNS = [
    "target", "config", "trainer", "dataset", "batch_size", "steps_timed", "s_per_step",
    "eval_s_per_epoch", "min_per_epoch", "epochs", "runs", "config_device_hours", "target_device_hours",
    "images_per_s", "status", "note", "device", "device_type", "torch", "date",
]  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------------------


@dataclass
class Config:
    """Paper-scale runs of equal cost, measured once through a representative run."""

    key: str
    trainer: str
    run: Any  # labelrepro.experiment.Run (the representative)
    # target -> {"label": the cells' grid point, "runs": trainings of that target with this cost}
    uses: dict[str, dict[str, Any]] = field(default_factory=dict)
    distinct: dict[str, int] = field(default_factory=dict)  # run id -> trainings, over all targets
    result: dict[str, Any] | None = None
    status: str = "not measured"


def _full_settings(run: Any) -> dict[str, Any]:
    from labelrepro.core.config import settings_from_dict
    from labelrepro.registry import TRAINERS

    validated = settings_from_dict(TRAINERS[run.trainer].settings, run.settings, run.id)
    return dataclasses.asdict(validated)


def cost_key(run: Any) -> str:
    import json

    settings = {k: v for k, v in _full_settings(run).items() if k not in COST_NEUTRAL}
    return json.dumps({"trainer": run.trainer, "settings": settings}, sort_keys=True, default=str)


def point_label(experiment: Any, point: dict[str, Any]) -> str:
    """The cell's grid point without its cost-neutral keys ('copy_depth=3 width_multiplier=4')."""
    parts = []
    for key, value in point.items():
        if set(experiment.expand({key: value})) <= set(COST_NEUTRAL):
            continue
        text = format(value, "g") if isinstance(value, float) else str(value).lower()
        parts.append(f"{key}={text}")
    return " ".join(parts) or "default"


def _target_runs(plan: Any, experiment: Any) -> Iterator[tuple[Any, str]]:
    """(run, label) of every paper-scale run of a target, required runs included, each once."""
    seen: set[str] = set()

    def walk(run: Any, label: str) -> Iterator[tuple[Any, str]]:
        for _role, other in run.inputs:
            yield from walk(plan.run("paper", other), label)
        if run.id not in seen:
            seen.add(run.id)
            yield run, label

    for cell in experiment.cells("paper").values():
        yield from walk(cell.run, point_label(experiment, cell.point))


#: Trainers whose epochs this script cannot time (they do not draw batches through DeviceBatchLoader):
#: seed 004's `relax` trains several networks per job one after the other; its CIFAR epochs are timed
#: by `bench_epoch_cost.py --target relax_cifar` instead.
UNTIMED_TRAINERS = frozenset({"relax"})


def cifar_targets(experiments: dict[str, Any]) -> list[str]:
    from labelrepro.experiment import run_dataset

    return [
        name for name, exp in experiments.items()
        if any(run_dataset(c.run) in CIFAR and c.run.trainer not in UNTIMED_TRAINERS
               for c in exp.cells("paper").values())
    ]  # fmt: skip


def build_configs(targets: list[str]) -> dict[str, Config]:
    from labelrepro.experiment import Plan, load_experiments
    from labelrepro.registry import TRAINERS

    experiments = load_experiments()
    plan = Plan(experiments)
    known = cifar_targets(experiments)
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise SystemExit(f"bench_gpu: not a CIFAR target: {', '.join(unknown)} (known: {', '.join(known)})")
    configs: dict[str, Config] = {}
    for target in targets or known:
        for run, label in _target_runs(plan, experiments[target]):
            key = cost_key(run)
            config = configs.setdefault(key, Config(key, run.trainer, run))
            use = config.uses.setdefault(target, {"label": label, "runs": 0})
            batched = TRAINERS[run.trainer].load().RUN.batch_seeds
            use["runs"] += 1 if batched else len(run.seeds)
            config.distinct[run.id] = 1 if batched else len(run.seeds)
    return configs


def measurement_order(configs: dict[str, Config]) -> list[Config]:
    """Round robin over the targets, so a tight budget still leaves every target some measurement."""
    per_target: dict[str, list[Config]] = {}
    for config in configs.values():
        per_target.setdefault(next(iter(config.uses)), []).append(config)
    order: list[Config] = []
    queues = list(per_target.values())
    while any(queues):
        for queue in queues:
            if queue:
                order.append(queue.pop(0))
    return order


# --------------------------------------------------------------------------------------------------
# Timing one configuration through the trainer's Run
# --------------------------------------------------------------------------------------------------


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class EpochMeter:
    """Times the training batches and, per split, the evaluation batches of the epochs it watches."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.real_size: dict[int, int] = {}  # id(DeviceDataset) -> the real split's size
        self.reset()

    def reset(self) -> None:
        self.train_s, self.train_steps, self.train_images = 0.0, 0, 0
        self.eval_s = self.eval_full_s = 0.0

    @contextmanager
    def watching(self) -> Iterator[None]:
        from labelrepro.data.vision import DeviceBatchLoader
        from labelrepro.engine import image

        loader_iter: Callable[..., Any] = DeviceBatchLoader.__iter__
        eval_batches: Callable[..., Any] = image.eval_batches
        meter = self

        def timed_iter(loader: Any) -> Iterator[Any]:
            _sync(meter.device)
            start = time.perf_counter()
            for batch in loader_iter(loader):
                meter.train_steps += 1
                meter.train_images += len(batch[0])
                yield batch
            _sync(meter.device)
            meter.train_s += time.perf_counter() - start

        def timed_eval(data: Any, batch_size: int) -> Iterator[Any]:
            _sync(meter.device)
            start = time.perf_counter()
            yield from eval_batches(data, batch_size)
            _sync(meter.device)
            seconds = time.perf_counter() - start
            meter.eval_s += seconds  # a split other than the run's training and test set: as measured
            meter.eval_full_s += seconds * meter.real_size.get(id(data), len(data)) / max(1, len(data))

        with (
            mock.patch.object(DeviceBatchLoader, "__iter__", timed_iter),
            mock.patch.object(image, "eval_batches", timed_eval),
        ):
            yield


@contextmanager
def reading_each_file_once() -> Iterator[None]:
    """Every configuration's `Run` reads the same fake files: parse them once (set-up, never timed), and
    hand each run its own copy, as a fresh read would."""
    from labelrepro.engine import image

    read: Callable[..., Any] = image.load_vision_dataset
    cache: dict[tuple[Any, ...], tuple[torch.Tensor, torch.Tensor]] = {}

    def cached(name: str, data_dir: Any, train: bool, *rest: Any, **options: Any) -> Any:
        key = (name, str(data_dir), train, *rest, *sorted(options.items()))
        if key not in cache:
            cache[key] = read(name, data_dir, train, *rest, **options)
        images, labels = cache[key]
        return images.clone(), labels.clone()

    with mock.patch.object(image, "load_vision_dataset", cached):
        yield


def time_config(config: Config, args: argparse.Namespace, data_dir: Path, work: Path,
                device: torch.device) -> dict[str, Any]:
    """Seconds per step, evaluation seconds per epoch and minutes per epoch (per stage, and averaged)."""
    from labelrepro.engine.job import Job
    from labelrepro.engine.runtime import Runtime
    from labelrepro.registry import TRAINERS

    run_cls = TRAINERS[config.trainer].load().RUN
    real = config.run.settings
    full = _full_settings(config.run)
    batch = int(full["batch_size"])
    real_train = full.get("train_subset") or CIFAR_TRAIN
    real_train = min(real_train, CIFAR_TRAIN)
    real_test = min(full.get("test_subset") or CIFAR_TEST, CIFAR_TEST)
    settings = {**real, "train_subset": args.steps * batch, "test_subset": 0}
    seed = config.run.seeds[0]
    spec = {"trainer": config.trainer, "scale": "paper", "settings": settings,
            "seeds": list(config.run.seeds) if run_cls.batch_seeds else [seed], "inputs": {}}
    runtime = Runtime(device=str(device), data_dir=str(data_dir), download=False, verify_data=False,
                      checkpoint_dir=str(work / "ckpt"), progress="none",
                      torch_threads=args.threads or Runtime().torch_threads)
    job = Job(spec=spec, runtime=runtime, out_dir=work / "out" / config.run.id, label=config.run.id)
    meter = EpochMeter(device)
    with meter.watching():
        run = run_cls(job, spec["seeds"])
        if run.unit != "epoch":
            raise RuntimeError(f"{config.trainer}: a unit is a {run.unit}, not an epoch")
        splits = run.splits
        meter.real_size = {id(splits.train): real_train, id(splits.test): real_test}
        stage1 = int(getattr(run, "stage1", 0) or 0)  # a first stage before a fresh network (HAR)
        segments = [(0, stage1), (stage1, run.total - stage1)] if stage1 else [(0, run.total)]
        stages = []
        for start, epochs in segments:
            warmup = min(args.warmup, epochs - 1)
            if start:
                run.position = start  # as a run resumed at the stage boundary stands
                warmup = max(1, warmup)  # the boundary epoch has one-time work: never timed
            for _ in range(warmup):
                run.advance()
                run.position += 1
            meter.reset()
            _sync(device)
            begin = time.perf_counter()
            run.advance()
            _sync(device)
            epoch_s = time.perf_counter() - begin
            run.position += 1
            step_s = meter.train_s / max(1, meter.train_steps)
            other_s = max(0.0, epoch_s - meter.train_s - meter.eval_s)
            # the part of the training set an epoch trains on (1, or e.g. HAR's stage-1 fit part)
            fraction = meter.train_images / len(splits.train)
            full_epoch_s = math.ceil(real_train * fraction / batch) * step_s + meter.eval_full_s + other_s
            stages.append({"epochs": epochs, "steps": meter.train_steps, "step_s": step_s,
                           "eval_s": meter.eval_full_s, "epoch_s": full_epoch_s})
    del run, splits
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    total_epochs = sum(s["epochs"] for s in stages)
    result = {
        "batch_size": batch,
        "dataset": full.get("dataset", ""),
        "epochs": total_epochs,
        "steps": sum(s["steps"] for s in stages),
        "s_per_step": sum(s["step_s"] * s["epochs"] for s in stages) / total_epochs,
        "eval_s": sum(s["eval_s"] * s["epochs"] for s in stages) / total_epochs,
        "epoch_s": sum(s["epoch_s"] * s["epochs"] for s in stages) / total_epochs,
        "note": "",
    }
    if len(stages) > 1:
        result["note"] = "; ".join(
            f"stage {k}: {s['epochs']} epochs x {s['epoch_s'] / 60:.3f} min ({s['step_s']:.4f} s/step)"
            for k, s in enumerate(stages, start=1)
        )
    return result


# --------------------------------------------------------------------------------------------------
# The loader comparison (benchmarks/bench_cifar_loader.py's measurement, shorter)
# --------------------------------------------------------------------------------------------------


def loader_comparison(args: argparse.Namespace, data_dir: Path, md5s: dict[str, str],
                      device: torch.device) -> dict[str, float]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_cifar_loader as loader_bench
    from torchvision import datasets

    from labelrepro.data.fake import cifar_checksum_overrides

    cuda = device.type == "cuda"
    largs = argparse.Namespace(
        batch_size=args.loader_batch, steps=args.loader_steps, warmup=args.loader_warmup,
        workers=args.loader_workers, amp=cuda, seed=0,
    )
    with mock.patch.multiple(datasets.CIFAR100, **cifar_checksum_overrides("cifar100", md5s)):
        batches_a = loader_bench.device_batches(str(data_dir), largs, device)
        batches_b = loader_bench.torchvision_batches(str(data_dir), largs, device)
    ips_a = loader_bench.train_throughput(batches_a, largs, device)
    del batches_a
    ips_b = loader_bench.train_throughput(batches_b, largs, device)
    batches_b.close()
    return {"device": ips_a, "torchvision": ips_b, "steps": args.loader_steps, "batch": args.loader_batch}


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget-s", type=float, default=420.0, help="total seconds (default 420)")
    parser.add_argument("--steps", type=int, default=40, help="timed training steps per epoch (default 40)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed warm-up epochs (default 1)")
    parser.add_argument("--targets", nargs="+", default=[], help="default: every CIFAR target")
    parser.add_argument("--train-images", type=int, default=CIFAR_TRAIN,
                        help="fake training images per dataset (default: the real 50000)")
    parser.add_argument("--test-images", type=int, default=CIFAR_TEST,
                        help="fake test images per dataset (default: the real 10000)")
    parser.add_argument("--no-loader", action="store_true", help="skip the loader comparison")
    parser.add_argument("--loader-steps", type=int, default=100)
    parser.add_argument("--loader-warmup", type=int, default=10)
    parser.add_argument("--loader-batch", type=int, default=256)
    parser.add_argument("--loader-workers", type=int, default=min(8, os.cpu_count() or 1),
                        help="DataLoader workers of the torchvision baseline")
    parser.add_argument("--device", default="auto", help="auto, cuda, cuda:N; cpu needs --allow-cpu")
    parser.add_argument("--allow-cpu", action="store_true", help="measure on the CPU when there is no CUDA")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = a job's default)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"CSV (default {DEFAULT_OUT})")
    parser.add_argument("--list", action="store_true", help="print the configurations and exit")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be >= 1 and --warmup >= 0")
    return args


def _device(args: argparse.Namespace) -> torch.device:
    if args.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(args.device)


def _fmt(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}") if value else 0.0


def rows_of(configs: list[Config], loader: dict[str, float] | None, stamp: dict[str, str]) -> list[dict]:
    rows: list[dict[str, Any]] = []
    targets: dict[str, list[tuple[Config, dict[str, Any]]]] = {}
    for config in configs:
        for target, use in config.uses.items():
            targets.setdefault(target, []).append((config, use))
    for target in sorted(targets):
        entries = targets[target]
        complete = all(c.result is not None for c, _ in entries)
        hours = sum(c.result["epoch_s"] * c.result["epochs"] * u["runs"] / 3600
                    for c, u in entries if c.result is not None)
        for config, use in entries:
            r = config.result
            row: dict[str, Any] = {"target": target, "config": use["label"], "trainer": config.trainer,
                                   "runs": use["runs"], "status": config.status, **stamp}
            if r is not None:
                row.update(
                    dataset=r["dataset"], batch_size=r["batch_size"], steps_timed=r["steps"],
                    s_per_step=_fmt(r["s_per_step"], 4), eval_s_per_epoch=_fmt(r["eval_s"]),
                    min_per_epoch=_fmt(r["epoch_s"] / 60), epochs=r["epochs"],
                    config_device_hours=_fmt(r["epoch_s"] * r["epochs"] * use["runs"] / 3600),
                    target_device_hours=_fmt(hours) if complete else None, note=r["note"],
                )
            rows.append(row)
    if loader is not None:
        ratio = loader["device"] / loader["torchvision"]
        for config, ips in (("WRN-16-4, device-resident loader", loader["device"]),
                            ("WRN-16-4, torchvision DataLoader", loader["torchvision"])):
            rows.append({"target": "loader", "config": config, "trainer": "bench_cifar_loader",
                         "dataset": "cifar100", "batch_size": loader["batch"], "steps_timed": loader["steps"],
                         "images_per_s": round(ips, 1), "status": "ok",
                         "note": f"ratio device-resident / torchvision = {ratio:.2f}x", **stamp})
    return rows


def measure_all(order: list[Config], args: argparse.Namespace, data_dir: Path, work: Path,
                device: torch.device, reserve: float, done: Callable[[], None]) -> None:
    """Time the configurations in order while the budget lasts (the rest are `skipped (budget)`); a
    configuration that fails is recorded as `error: ...` and the others go on. `done()` after each one
    (the CSV is rewritten, so a killed command still leaves what it measured)."""
    longest = 0.0
    for config in order:
        labels = ", ".join(f"{t}: {u['label']}" for t, u in config.uses.items())
        elapsed = time.perf_counter() - START
        if elapsed + 1.5 * longest > args.budget_s - reserve:
            config.status = "skipped (budget)"
            print(f"  skipped (budget): {labels}", flush=True)
            continue
        begin = time.perf_counter()
        try:
            config.result = time_config(config, args, data_dir, work, device)
        except Exception as error:  # one broken configuration must not cost the others' measurement
            traceback.print_exc()
            config.status = f"error: {type(error).__name__}: {error}"[:200]
            print(f"  {labels}: {config.status}", flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
            continue
        finally:
            longest = max(longest, time.perf_counter() - begin)
        config.status = "ok"
        r = config.result
        print(f"  {labels}: {r['s_per_step']:.4f} s/step, {r['epoch_s'] / 60:.3f} min/epoch "
              f"(measured in {time.perf_counter() - begin:.1f} s)", flush=True)
        done()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for config in build_configs(args.targets).values():
            for target, use in config.uses.items():
                print(f"{target:15s} {use['label']:55s} {use['runs']:3d} runs")
        return 0
    device = _device(args)
    no_cuda = device.type == "cuda" and not torch.cuda.is_available()
    if no_cuda or (device.type == "cpu" and not args.allow_cpu):
        print(NO_CUDA, file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)

    import pandas as pd

    from labelrepro.core import atomic
    from labelrepro.data.fake import write_fake_cifar

    configs = build_configs(args.targets)
    order = measurement_order(configs)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    stamp = {"device": name, "device_type": device.type, "torch": torch.__version__,
             "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    reserve = 0.0 if args.no_loader else LOADER_RESERVE_S
    print(f"bench_gpu on {name}: {len(order)} configurations of {len({t for c in order for t in c.uses})} "
          f"CIFAR targets, budget {args.budget_s:.0f} s", flush=True)
    loader = None
    with tempfile.TemporaryDirectory(prefix="bench_gpu_") as tmp:
        data_dir, work = Path(tmp) / "data", Path(tmp) / "work"
        datasets_needed = {c.run.settings.get("dataset") or _full_settings(c.run)["dataset"] for c in order}
        if not args.no_loader:
            datasets_needed.add("cifar100")
        md5s: dict[str, dict[str, str]] = {}
        for dataset in sorted(datasets_needed):
            md5s[dataset] = write_fake_cifar(data_dir, dataset, args.train_images, args.test_images)
        print(f"  wrote FAKE {', '.join(sorted(datasets_needed))} ({args.train_images} train / "
              f"{args.test_images} test images) at {time.perf_counter() - START:.0f} s", flush=True)

        def write() -> pd.DataFrame:
            frame = pd.DataFrame(rows_of(order, loader, stamp), columns=COLUMNS)
            atomic.write_csv(args.out, frame)
            return frame

        with reading_each_file_once():
            measure_all(order, args, data_dir, work, device, reserve, write)
        if not args.no_loader and time.perf_counter() - START < args.budget_s - 10:
            try:
                loader = loader_comparison(args, data_dir, md5s["cifar100"], device)
            except Exception:
                traceback.print_exc()
                print("  the loader comparison failed (see above)")
        elif not args.no_loader:
            print("  skipped the loader comparison (budget)")
    frame = write()
    kind = "GPU" if device.type == "cuda" else "CPU"
    print(f"\nsummary ({name}, torch {torch.__version__}):")
    for target, group in frame[frame["target"] != "loader"].groupby("target", sort=True):
        ok = group[group["status"] == "ok"]
        hours = group["target_device_hours"].iloc[0] if len(ok) == len(group) else None
        span = f"{ok['min_per_epoch'].min():.3g}-{ok['min_per_epoch'].max():.3g}" if len(ok) else "-"
        total = f"{hours:.3g} {kind}-h" if hours is not None else f"incomplete ({len(ok)}/{len(group)})"
        print(f"  {target:15s} {total:>22s}  {span} min/epoch, {int(group['runs'].sum())} runs, "
              f"{len(group)} configurations")
    measured = [c for c in order if c.result is not None]
    if len(measured) == len(order) and len(frame[frame["target"] != "loader"]["target"].unique()) > 1:
        distinct = sum(c.result["epoch_s"] * c.result["epochs"] * sum(c.distinct.values()) / 3600
                       for c in measured)
        print(f"  {'together':15s} {f'{distinct:.3g} {kind}-h':>22s}  (runs shared by targets counted once)")
    if loader is not None:
        print(f"  loader: device-resident {loader['device']:,.0f} images/s, torchvision "
              f"{loader['torchvision']:,.0f} images/s ({loader['device'] / loader['torchvision']:.2f}x)")
    print(f"wrote {args.out} in {time.perf_counter() - START:.0f} s")
    complete = all(c.status == "ok" for c in order) and (args.no_loader or loader is not None)
    return 0 if complete else 3


if __name__ == "__main__":
    sys.exit(main())
