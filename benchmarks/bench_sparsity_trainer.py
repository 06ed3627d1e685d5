"""Throughput of seed 003's batched trainer vs a plain per-run PyTorch loop on the same work.

Both train the same R runs (the paper-scale network: d=60, 240 hidden units, 240 training points) for
the same number of SGD steps at batch size 1, consuming the same random streams, and the script checks
that they end at the same weights. It prints steps x runs per second for both and their ratio.

    python benchmarks/bench_sparsity_trainer.py [--runs 20] [--steps 2400] [--device cpu]

`--model mnist` times Fig. 5's network instead (784 -> 600 -> 10, Eq. 3's ten logistic losses, batch
size 1): the batched `papers/sparsity/mnist.py` step for R runs against R plain per-run loops
(`nn.Sequential` + `optim.SGD` + autograd) from the same initialisation on the same inputs (random
[0, 1] vectors: the cost of a step does not depend on the pixels), checking that both end equal.

    python benchmarks/bench_sparsity_trainer.py --model mnist [--runs 6] [--steps 1000]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from labelrepro.core.seeding import make_generator
from labelrepro.papers.sparsity import mnist
from labelrepro.papers.sparsity import trainer as sparsity

PAPER = sparsity.Settings(
    d=60, hidden=240, n_train=240, n_test=5000, eps=0.3, lr=1 / 60, steps=2400, eval_every=2400,
    label_noise=0.2,
)


def batched(settings: sparsity.Settings, seeds: list[int], device: torch.device) -> float:
    """Same work as `per_run`, timed the same way: data, init, random draws and the SGD steps."""
    start = time.perf_counter()
    data = sparsity.make_data(settings, seeds, device)
    model = sparsity.make_model(settings, seeds, device)
    generators = [make_generator(s, "hypercube-sgd") for s in seeds]
    xs, ys = sparsity.draw_chunk(settings, data, generators, settings.steps)
    for k in range(settings.steps):
        model.sgd_step_logistic(xs[k], ys[k], settings.lr)
    _sync(device)
    return time.perf_counter() - start


def per_run(settings: sparsity.Settings, seeds: list[int], device: torch.device) -> float:
    start = time.perf_counter()
    for seed in seeds:
        sparsity.reference_run(settings, seed, device)
    _sync(device)
    return time.perf_counter() - start


def mnist_batched(
    net: mnist.BatchedMlp10, xs: torch.Tensor, targets: torch.Tensor, lr: float
) -> tuple[float, float]:
    """Wall and process CPU seconds of the steps (CPU time: their cost even on a shared machine)."""
    start, cpu = time.perf_counter(), time.process_time()
    for k in range(xs.shape[0]):
        net.sgd_step(xs[k], targets[k], lr)
    _sync(xs.device)
    return time.perf_counter() - start, time.process_time() - cpu


def mnist_per_run(
    init: mnist.BatchedMlp10, xs: torch.Tensor, targets: torch.Tensor, lr: float
) -> tuple[float, list]:
    """R plain loops, one after the other: nn.Sequential + optim.SGD + autograd on Eq. 3."""
    nets = []
    start = time.perf_counter()
    for r in range(xs.shape[1]):
        net = torch.nn.Sequential(torch.nn.Linear(784, init.w1.shape[1]), torch.nn.ReLU(),
                                  torch.nn.Linear(init.w1.shape[1], 10)).to(xs.device)
        with torch.no_grad():
            for layer, w, b in ((net[0], init.w1[r], init.b1[r]), (net[2], init.w2[r], init.b2[r])):
                layer.weight.copy_(w)
                layer.bias.copy_(b)
        optimizer = torch.optim.SGD(net.parameters(), lr=lr)
        for k in range(xs.shape[0]):
            optimizer.zero_grad(set_to_none=True)
            loss = mnist.multi_logistic_loss(net(xs[k, r]), targets[k, r])
            loss.backward()
            optimizer.step()
        nets.append(net)
    _sync(xs.device)
    return time.perf_counter() - start, nets


def bench_mnist(runs: int, steps: int, device: torch.device) -> None:
    gens = [make_generator(seed, "mnist-init") for seed in range(runs)]
    generator = torch.Generator().manual_seed(0)
    xs = torch.rand(steps, runs, 784, generator=generator).to(device)
    targets = mnist.signed_targets(torch.randint(0, 10, (steps, runs), generator=generator)).to(device)
    init = mnist.BatchedMlp10.initialise(gens, 784, 600, True, "torch", device)
    copy = mnist.BatchedMlp10(*(t.clone() for t in (init.w1, init.b1, init.w2, init.b2)), bias=True)
    mnist_batched(copy, xs[:5], targets[:5], 0.01)  # warm-up
    net = mnist.BatchedMlp10(*(t.clone() for t in (init.w1, init.b1, init.w2, init.b2)), bias=True)
    t_batched, cpu_batched = mnist_batched(net, xs, targets, 0.01)
    t_loop, nets = mnist_per_run(init, xs, targets, 0.01)
    for r, plain in enumerate(nets):
        assert torch.allclose(plain[0].weight, net.w1[r], atol=1e-4), "batched and per-run runs differ"
    work = runs * steps
    print(f"model=mnist 784-600-10 device={device} threads={torch.get_num_threads()} runs={runs} "
          f"steps={steps}")
    print(f"batched trainer : {work / t_batched:12,.0f} steps*runs/s  ({t_batched:.2f} s)")
    fig5 = 20 * 60_000 * cpu_batched / steps  # CPU-s of 20 epochs x 60k batched steps (paper scale)
    print(f"batched, CPU    : {work / cpu_batched:12,.0f} steps*runs per CPU-s ({cpu_batched:.2f} CPU-s);"
          f" 20 epochs x 60k steps of {runs} runs = {fig5 / 60:.0f} CPU-min")
    print(f"per-run loop    : {work / t_loop:12,.0f} steps*runs/s  ({t_loop:.2f} s)")
    print(f"speed-up        : {t_loop / t_batched:.1f}x")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="runs trained together (paper: 20 per p)")
    parser.add_argument("--steps", type=int, default=2400, help="SGD steps per run")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    parser.add_argument("--model", choices=("hypercube", "mnist"), default="hypercube")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.model == "mnist":
        bench_mnist(args.runs, args.steps, device)
        return
    settings = replace(PAPER, steps=args.steps, eval_every=args.steps)
    seeds = list(range(args.runs))

    work = args.runs * args.steps
    settings = replace(settings, n_test=1)  # evaluation is not part of the measured work
    warm_up = replace(settings, steps=10, eval_every=10)
    batched(warm_up, seeds[:2], device)  # first-call costs (thread pools, allocator) are not the trainer's
    per_run(warm_up, seeds[:2], device)
    t_batched = batched(settings, seeds, device)
    t_loop = per_run(settings, seeds, device)
    print(f"device={device} threads={torch.get_num_threads()} runs={args.runs} steps={args.steps}")
    print(f"batched trainer : {work / t_batched:12,.0f} steps*runs/s  ({t_batched:.2f} s)")
    print(f"per-run loop    : {work / t_loop:12,.0f} steps*runs/s  ({t_loop:.2f} s)")
    print(f"speed-up        : {t_loop / t_batched:.1f}x")


if __name__ == "__main__":
    main()
