"""Cost of Fig. 3A's copy-depth tails (seed 000): step time and peak memory per copy depth d and tail mode.

For every depth d and tail mode this builds the trainer's own network (`build_network`: VGG16 with the
CIFAR head, N classes, n random labels, fig3a's settings) and times the trainer's own `train_step`
(forward, the three losses with λ = 0, backward, SGD with momentum 0.9) on a random CIFAR-shaped batch
with uniformly drawn class labels (so about as many classes are present per batch as in training). Modes:

    shared            one copied tail, its last layer emits N·n outputs
    per_class         N copies, every sample through all N (the literal reading, run fused)
    per_class_routed  the same N copies, each sample through its own class's copy only

All modes use `normalization: group` (a per-head softmax; routing requires it, and the loss then needs
only the true class's group in every mode, so at d <= 3 the routed and all-copies modes compute the same
numbers). Each cell runs in its own subprocess so that its peak memory is its own: on CPU the peak
resident set size above the process's size before the network was built (weights, gradients, momentum,
activations, allocator slack), on CUDA `torch.cuda.max_memory_allocated`. A cell whose parameters plus
gradients plus momentum (12 bytes per parameter, fp32), plus for `per_class` an estimate of its N-fold
activations, would exceed `--max-gb` is not run (shown as "skipped", with the estimate).

    python benchmarks/bench_copy_depth.py [--device cpu|cuda] [--batch 32] [--depths 1 3 5 8 13 16]
        [--modes shared per_class per_class_routed] [--num-classes 100] [--steps 3] [--threads 1]
        [--max-gb 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _settings(d: int, mode: str, batch: int, n: int) -> dict:
    return {"model": "vgg16", "vgg_classifier": "cifar", "dataset": "cifar100", "num_random_labels": n,
            "lam": 0.0, "optimizer": "sgd", "momentum": 0.9, "lr": 0.5, "epochs": 200, "batch_size": batch,
            "copy_depth": d, "tail_mode": mode, "normalization": "group"}


def estimate_gb(d: int, mode: str, batch: int, num_classes: int, n: int) -> tuple[int, float]:
    """(parameters of the random-label part, estimated training memory in GB beyond the backbone)."""
    import torch

    from labelrepro.models.vgg import VGG16

    vgg = VGG16(num_classes=num_classes)
    one = vgg.make_tail(16 - d, n)  # one copy (per-class modes have N of them)
    per_copy = sum(p.numel() for p in one.parameters())
    params = per_copy if mode == "shared" else per_copy * num_classes
    if mode == "shared":
        params += (num_classes - 1) * n * (one.layers[-1].linear.in_features + 1)
    gb = 12 * params / 2**30
    if mode == "per_class":
        # Every module output of one copy for one sample, kept for backward, times N copies and the batch.
        sizes: list[int] = []
        hooks = [m.register_forward_hook(lambda _m, _i, o: sizes.append(o.numel()))
                 for m in one.modules() if not list(m.children())]
        with torch.no_grad():
            one(vgg.forward_until(torch.zeros(1, 3, 32, 32), 16 - d))
        for h in hooks:
            h.remove()
        gb += 4 * sum(sizes) * batch * num_classes / 2**30
    return params, gb


def run_cell(d: int, mode: str, batch: int, num_classes: int, n: int, steps: int, device_name: str) -> dict:
    """Runs in the child: build, one untimed step, `steps` timed steps; returns the measurements."""
    import torch

    from labelrepro.core.config import settings_from_dict
    from labelrepro.core.device import resolve_device
    from labelrepro.engine import image as supervised
    from labelrepro.engine import optim
    from labelrepro.papers.random_labels import trainer as random_labels

    device = resolve_device(device_name, None)
    settings = settings_from_dict(random_labels.Settings, _settings(d, mode, batch, n), f"d{d}-{mode}")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, 32, 32, generator=gen).to(device)
    y = torch.randint(num_classes, (batch,), generator=gen).to(device)
    s = torch.randint(n, (batch,), generator=gen).to(device)
    base_mb = _rss_mb()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base_cuda = torch.cuda.memory_allocated(device)
    net = supervised.prepare_model(random_labels.build_network(settings, num_classes, 0), device,
                                   settings.channels_last)
    optimizer = optim.build_optimizer(settings, net.parameters())
    net.train()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    times = []
    for i in range(steps + 1):
        sync()
        start = time.perf_counter()
        losses = random_labels.train_step(net, optimizer, settings, x, y, s, with_reg=False)
        sync()
        if i:
            times.append(time.perf_counter() - start)
    out = {"step_s": statistics.median(times), "loss": float(losses["loss"]),
           "classes_present": int(torch.unique(y).numel())}
    if device.type == "cuda":
        out["peak_mb"] = (torch.cuda.max_memory_allocated(device) - base_cuda) / 2**20
    else:
        out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base_mb
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 3, 5, 8, 13, 16])
    parser.add_argument("--modes", nargs="+", default=["shared", "per_class", "per_class_routed"])
    parser.add_argument("--num-classes", type=int, default=100)
    parser.add_argument("--num-random-labels", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per cell (median reported)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per cell")
    parser.add_argument("--max-gb", type=float, default=5.0, help="skip cells estimated above this")
    parser.add_argument("--cell", nargs=2, metavar=("D", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.cell:
        result = run_cell(int(args.cell[0]), args.cell[1], args.batch, args.num_classes,
                          args.num_random_labels, args.steps, args.device)
        print("RESULT " + json.dumps(result))
        return
    print(f"VGG16 (CIFAR head), N = {args.num_classes}, n = {args.num_random_labels}, batch {args.batch}, "
          f"{args.device}, {args.threads} thread(s); memory = peak above the pre-build size")
    print(f"{'d':>3} {'mode':17s} {'params':>12s} {'est. GB':>8s} {'s/step':>8s} {'peak MB':>9s} "
          f"{'classes/batch':>13s}")
    for d in args.depths:
        for mode in args.modes:
            params, gb = estimate_gb(d, mode, args.batch, args.num_classes, args.num_random_labels)
            row = f"{d:3d} {mode:17s} {params:12,d} {gb:8.2f}"
            if gb > args.max_gb:
                print(f"{row} {'skipped (estimate > --max-gb)':>33s}", flush=True)
                continue
            cmd = [sys.executable, __file__, "--cell", str(d), mode, "--device", args.device,
                   "--batch", str(args.batch), "--num-classes", str(args.num_classes),
                   "--num-random-labels", str(args.num_random_labels), "--steps", str(args.steps),
                   "--threads", str(args.threads)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if proc.returncode or not lines:
                print(f"{row} failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}", flush=True)
                continue
            r = json.loads(lines[-1][len("RESULT "):])
            print(f"{row} {r['step_s']:8.3f} {r['peak_mb']:9.0f} {r['classes_present']:13d}", flush=True)


if __name__ == "__main__":
    main()
