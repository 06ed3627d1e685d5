"""Throughput of seed 004's batched MLP trainer vs one network at a time, on the same work.

Both train R networks of the paper's size (784 -> 1024 -> 1024 -> 10, batch 64, SGD with Nesterov
momentum 0.9) on random MNIST-shaped batches held on the device, each network with its own loss of the
table (CE, LS, CP, FL, LR in turn): batched = one `BatchedMLP` and one optimiser for all R (what
`papers/relaxation/trainer.py` does), one-at-a-time = R `nn.Sequential` models and optimisers, stepped one
after the other. It prints networks x steps per second for both, their ratio, and the projected time of
one paper-scale epoch of a job (10 seeds x 29 networks, 938 steps on the 60k training part).

    python benchmarks/bench_relax_mlp.py [--runs 29] [--steps 20] [--device cpu] [--threads 0]
"""

from __future__ import annotations

import argparse
import time

import torch

from labelrepro.core.seeding import make_generator
from labelrepro.papers.relaxation.batched_mlp import BatchedMLP
from labelrepro.papers.relaxation.methods import METHODS

SIZES = BatchedMLP.layer_sizes(784, 1024, 2, 10)
JOB_NETWORKS, STEPS_PER_EPOCH = 10 * 29, 938  # paper-scale `final` job: 10 seeds x 29 (loss, strength)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _data(runs: int, steps: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return (torch.randn(steps, runs, 64, 784, generator=gen).to(device),
            torch.randint(0, 10, (steps, runs, 64), generator=gen).to(device))


def batched(runs: int, steps: int, device: torch.device) -> float:
    names = [METHODS.in_order()[r % 5] for r in range(runs)]
    generators = [make_generator(r, "bench") for r in range(runs)]
    model = BatchedMLP.initialise(generators, SIZES, "glorot").to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    groups = {n: torch.tensor([r for r in range(runs) if names[r] == n], device=device) for n in set(names)}
    xs, ys = _data(runs, steps + 1, device)
    for k in range(steps + 1):  # step 0 warms up (allocations), then timed
        if k == 1:
            _sync(device)
            start = time.perf_counter()
        logits = model(xs[k])
        loss = sum(METHODS[n].loss(logits[g], ys[k][g], 0.1).mean(-1).sum() for n, g in groups.items())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(device)
    return time.perf_counter() - start


def one_at_a_time(runs: int, steps: int, device: torch.device) -> float:
    names = [METHODS.in_order()[r % 5] for r in range(runs)]
    nets = [torch.nn.Sequential(torch.nn.Linear(784, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024),
                                torch.nn.ReLU(), torch.nn.Linear(1024, 10)).to(device) for _ in range(runs)]
    opts = [torch.optim.SGD(n.parameters(), lr=0.05, momentum=0.9, nesterov=True) for n in nets]
    xs, ys = _data(runs, steps + 1, device)
    for k in range(steps + 1):
        if k == 1:
            _sync(device)
            start = time.perf_counter()
        for r in range(runs):
            loss = METHODS[names[r]].loss(nets[r](xs[k, r]), ys[k, r], 0.1).mean()
            opts[r].zero_grad(set_to_none=True)
            loss.backward()
            opts[r].step()
    _sync(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=29, help="networks (one seed's 29 loss x strength)")
    parser.add_argument("--steps", type=int, default=20, help="timed SGD steps per network")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    t_batched = batched(args.runs, args.steps, device)
    t_single = one_at_a_time(args.runs, args.steps, device)
    work = args.runs * args.steps
    print(f"device {device}, {args.runs} networks x {args.steps} steps (784-1024-1024-10, batch 64)")
    print(f"batched:        {work / t_batched:8.1f} network-steps/s  ({t_batched:.2f} s)")
    print(f"one at a time:  {work / t_single:8.1f} network-steps/s  ({t_single:.2f} s)")
    print(f"speed-up:       {t_single / t_batched:.2f}x")
    epoch = JOB_NETWORKS * STEPS_PER_EPOCH / (work / t_batched)
    print(f"projected paper-scale epoch of one job ({JOB_NETWORKS} networks x {STEPS_PER_EPOCH} steps, "
          f"training only): {epoch / 60:.1f} min batched")


if __name__ == "__main__":
    main()
