"""Cost of one LIMIT-table epoch at paper settings (full-size MNIST, Adam, batch 256) per method and n.

Runs the real trainer (`labelrepro.papers.limit.trainer.LimitRun`, through the engine's
`labelrepro.engine.loop.train`) on FAKE full-size MNIST files written by
`labelrepro.data.fake.write_fake_mnist` (60,000 train / 10,000 test images in the real IDX format; the
cost does not depend on pixel values) for `--epochs` epochs of one split, and reports the median of the
per-epoch wall times the trainer records (`epoch_s`: training pass over the n examples + validation on
12,000 images + the test set (10,000) whenever the validation accuracy improves). The median over
epochs 2.. drops the first epoch's warm-up and resists other load on a shared machine.

    python benchmarks/bench_limit_epoch.py [--device cpu] [--threads 2] [--epochs 4] [--sizes 0 10000 1000]

CIFAR-10 (Tables 6, 7; `--dataset cifar10`): a full epoch of two full-width ResNet-34s takes far too long on
a CPU, so this mode times the real per-batch objective of the method (`Method.objective` with the
trainer's own `build_nets`, forward + the one backward of classifier and q + the Adam step) on random
CIFAR-shaped batches of 256 held on the device, after `--warmup` untimed steps, plus one evaluation
pass over 200 images (scaled to a batch of 1000), and projects an epoch as ceil(40000 / 256) steps
+ 10 validation batches + 10 test batches (an upper bound: the test set is evaluated only when
validation improves). FLOPs per step come from `torch.utils.flop_counter` on a batch of 8, scaled to
256, for a GPU projection at `--gpu-tflops`:

    python benchmarks/bench_limit_epoch.py --dataset cifar10 [--steps 1] [--warmup 0] [--gpu-tflops 25]

(about 2 min of CPU time on 2 threads; `--device cuda --warmup 2 --steps 10` on a GPU)
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from labelrepro.data.fake import write_fake_mnist
from labelrepro.engine.job import Job
from labelrepro.engine.loop import train
from labelrepro.engine.runtime import Runtime

METHODS = {"ce": {}, "limit_g_s": {"beta": 1.0, "sigma": 0.1}, "soft_reg": {"lam": 0.01, "beta": 0.1}}


def epoch_times(data: Path, out: Path, device: str, threads: int, method: str, size: int, epochs: int):
    settings = {"method": method, **METHODS[method], "epochs": epochs, "batch_size": 256, "lr": 1e-3,
                "optimizer": "adam", "schedule": "constant", "train_size": size, "noise_rate": 0.5}
    spec = {"trainer": "limit", "scale": "paper", "settings": settings, "seeds": [42], "inputs": {}}
    runtime = Runtime(device=device, data_dir=str(data), download=False, verify_data=False,
                      checkpoint_dir=str(out / "ckpt"), progress="none", torch_threads=threads)
    run_dir = out / f"{method}-{size}"
    train(Job(spec=spec, runtime=runtime, out_dir=run_dir))
    return pd.read_csv(run_dir / "seed-42" / "metrics.csv")["epoch_s"]


CIFAR_METHODS = {"ce": {}, "limit_g": {"beta": 1.0}}
CIFAR_TRAIN, CIFAR_VAL, CIFAR_TEST, EVAL_BATCH = 40_000, 10_000, 10_000, 1000
#: Images of the timed evaluation forward pass (scaled to EVAL_BATCH: evaluation is linear in the batch).
EVAL_TIMED = 200


def cifar_step_cost(method: str, device: torch.device, steps: int, warmup: int) -> dict[str, float]:
    """Seconds per training step (batch 256) and per evaluation batch, and FLOPs per training step, of
    one CIFAR-10 configuration of Tables 6-7 at paper width."""
    from labelrepro.core.config import settings_from_dict
    from labelrepro.core.seeding import make_generator
    from labelrepro.engine.optim import build_optimizer
    from labelrepro.papers.limit import trainer as limit
    from labelrepro.papers.limit.methods import METHODS as REGISTRY

    settings = settings_from_dict(limit.Settings, {
        "method": method, **CIFAR_METHODS[method], "dataset": "cifar10", "epochs": 400, "batch_size": 256,
        "lr": 1e-3, "optimizer": "adam", "schedule": "constant"}, "bench")
    nets = limit.build_nets(settings, 10, 42, device)
    run = SimpleNamespace(nets=nets, settings=settings, noise=make_generator(42, "gradient-noise"))
    objective = REGISTRY[method].objective(run)  # type: ignore[arg-type]
    optimizer = build_optimizer(settings, nets.parameters())

    def step(batch: int) -> None:
        x = torch.randn(batch, 3, 32, 32, device=device)
        y = torch.randint(0, 10, (batch,), device=device)
        loss, _ = objective(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for module in nets.modules():
        module.train()
    for _ in range(warmup):
        step(256)
    sync()
    started = time.perf_counter()
    for _ in range(steps):
        step(256)
    sync()
    step_s = (time.perf_counter() - started) / steps
    with FlopCounterMode(display=False) as counter:
        step(8)
    nets.classifier.eval()
    with torch.no_grad():
        x = torch.randn(EVAL_TIMED, 3, 32, 32, device=device)
        if device.type == "cuda":
            nets.classifier(x)
        sync()
        started = time.perf_counter()
        nets.classifier(x)
        sync()
        eval_s = (time.perf_counter() - started) * EVAL_BATCH / EVAL_TIMED
    return {"step_s": step_s, "eval_s": eval_s, "flops": counter.get_total_flops() * 256 / 8}


def cifar_main(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    steps_per_epoch = math.ceil(CIFAR_TRAIN / 256)
    eval_batches = (CIFAR_VAL + CIFAR_TEST) // EVAL_BATCH
    for method in CIFAR_METHODS:
        cost = cifar_step_cost(method, device, args.steps, args.warmup)
        epoch_s = steps_per_epoch * cost["step_s"] + eval_batches * cost["eval_s"]
        epoch_flops = steps_per_epoch * cost["flops"] * 1.0
        gpu_s = epoch_flops / (args.gpu_tflops * 1e12)
        print(f"cifar10 {method:8s}: {cost['step_s']:6.2f} s/step (batch 256), {cost['eval_s']:5.2f} s per "
              f"eval batch of {EVAL_BATCH} -> {epoch_s / 60:6.1f} min/epoch on {device} "
              f"({args.threads} threads); {cost['flops'] / 1e12:.2f} TFLOP/step, {epoch_flops / 1e15:.3f} "
              f"PFLOP/epoch (training) = {gpu_s:.1f} s/epoch at an assumed {args.gpu_tflops:g} TFLOP/s",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dataset", choices=["mnist", "cifar10"], default="mnist")
    parser.add_argument("--steps", type=int, default=1, help="cifar10: timed steps")
    parser.add_argument("--warmup", type=int, default=0,
                        help="cifar10: untimed steps first (use 1+ on a GPU)")
    parser.add_argument("--gpu-tflops", type=float, default=25.0, help="cifar10: assumed GPU throughput")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 10_000, 1000])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    args = parser.parse_args()
    if args.dataset == "cifar10":
        cifar_main(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "data", Path(tmp) / "out"
        write_fake_mnist(data, "mnist", 60_000, 10_000, seed=0)
        for method in args.methods:
            for size in args.sizes:
                times = epoch_times(data, out, args.device, args.threads, method, size, args.epochs)
                later = times.iloc[1:] if len(times) > 1 else times
                print(f"{method:10s} n={size or 48000:6d}: {later.median():6.2f} s/epoch median "
                      f"(epochs: {' '.join(f'{t:.2f}' for t in times)})", flush=True)


if __name__ == "__main__":
    main()
