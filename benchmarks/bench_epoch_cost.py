"""Paper-scale cost of the seed-000 targets (fig1b, fig2, fig3a, fig3bc, figA1-figA3): measured time per
epoch on this device.

For every training cell of a target at paper scale this builds the real network (the trainer's own
`build_network`), and times the real training step (the trainer's own `train_step`: forward, the
three losses, backward, SGD step, with bf16 autocast and channels_last on CUDA) at the paper's batch
size on random CIFAR-shaped input held on the device, plus one evaluation batch. An epoch is then

    ceil(50000 / batch) training steps + (50000 + 10000) / eval_batch evaluation batches

(the trainer evaluates the whole training and test set after every epoch). The target's cost is the sum
over its cells of epochs x epoch time. It also counts the FLOPs of one training image (forward + backward,
`torch.utils.flop_counter`) to show which cells dominate.

On a CPU the measured numbers are CPU-hours (what a laptop run would cost). With `--gpu-tflops X` it
also prints a GPU-hour projection from the FLOP count at X TFLOP/s effective throughput: an assumption,
labelled as one. Run it on a GPU box (`--device cuda`) to replace the projection by a measurement.

    python benchmarks/bench_epoch_cost.py --target fig3a [--device cuda] [--steps 2] [--gpu-tflops 25]
    python benchmarks/bench_epoch_cost.py --target fig2 fig3bc figA1 figA2 figA3 --steps 1 --gpu-tflops 25
    python benchmarks/bench_epoch_cost.py --target fig2 fig3bc figA1 figA2 figA3 --flops-only 16 \
        --gpu-tflops 25

Several targets: each distinct run (run id) is counted once per target and once in the union ("all"),
and cells whose step costs the same are timed once: a WRN step's cost depends on whether the L_reg pass
runs (lam > 0 or single output), on n and on the single-output variant, not on the lr, weight decay,
label smoothing or dropout (negligible element-wise work) or the on-device augmentation (timed apart by
benchmarks/bench_cifar_loader.py), so e.g. the five new figures' 117 cells need 5 timings.

Stability mode (`--stability-steps K`): instead of timing, train the target's paper cells (those whose
name contains `--cells`) for K steps on a FAKE class-conditional CIFAR stand-in (`--standin-images`
images) with the paper's batch size and learning rate, the learning-rate schedule following CIFAR's
epoch length (ceil(50000 / batch) steps, so a 1-epoch warm-up is 196 steps at batch 256), and print the
first, largest and last class loss, the last random-label loss and whether everything stayed finite.
`--lr` and `--warmup-epochs` override the experiment's values (e.g. `--warmup-epochs 0`):

    python benchmarks/bench_epoch_cost.py --target fig3a --cells copy_depth-1_ --stability-steps 300

Seed 004 (`--target relax_cifar`): the three CIFAR models of relax_table (ResNet-56 v2, VGG16 with BN and
dropout, DenseNet-BC-100), each timed on its real training step at the paper's batch size 64 (forward,
label-relaxation loss, backward, SGD with Nesterov momentum; bf16/channels_last on CUDA) and one
evaluation batch; an epoch is ceil(50000 / 64) steps (the training part of the merged 60k, test 1/6)
plus 10000 / eval_batch evaluation batches. Printed per model and number of classes (10 / 100):

    python benchmarks/bench_epoch_cost.py --target relax_cifar [--device cuda] [--steps 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from labelrepro.core.config import settings_from_dict
from labelrepro.core.device import resolve_device
from labelrepro.engine import image as supervised
from labelrepro.engine import optim
from labelrepro.experiment import load_experiments
from labelrepro.papers.random_labels import trainer as random_labels

CIFAR_TRAIN, CIFAR_TEST = 50_000, 10_000


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_cell(settings: random_labels.Settings, device: torch.device, steps: int) -> dict[str, float]:
    """Seconds per training step and per evaluation batch, and training FLOPs per image."""
    num_classes = 100 if settings.dataset == "cifar100" else 10
    net = supervised.prepare_model(random_labels.build_network(settings, num_classes, 0), device,
                                   settings.channels_last)
    optimizer = optim.build_optimizer(settings, random_labels.parameter_groups(net, settings))
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(settings.batch_size, 3, 32, 32, generator=gen).to(device)
    y = torch.randint(num_classes, (settings.batch_size,), generator=gen).to(device)
    s = torch.randint(settings.num_random_labels, (settings.batch_size,), generator=gen).to(device)
    with_reg = settings.lam > 0 or settings.single_output

    def step() -> None:
        random_labels.train_step(net, optimizer, settings, x, y, s, with_reg)

    with FlopCounterMode(display=False) as counter:
        step()
    flops_per_image = counter.get_total_flops() / settings.batch_size
    step()  # warm-up (allocator, cuDNN autotuning)
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    step_s = (time.perf_counter() - start) / steps

    net.eval()
    x_eval = supervised.to_input(torch.randn(settings.eval_batch_size, 3, 32, 32, generator=gen).to(device),
                                 settings.channels_last)
    with torch.no_grad(), supervised.autocast(device, settings.amp):
        net(x_eval, with_reg=False)
        _sync(device)
        start = time.perf_counter()
        net(x_eval, with_reg=False)
        _sync(device)
    eval_s = time.perf_counter() - start
    return {"step_s": step_s, "eval_s": eval_s, "flops_per_image": flops_per_image}


RELAX_TRAIN, RELAX_EVAL, RELAX_BATCH, RELAX_EVAL_BATCH = 50_000, 10_000, 64, 500
RELAX_EPOCHS = {10: 200, 100: 300}  # A.2.2-A.2.4: 200 epochs on CIFAR-10, 300 on CIFAR-100


def relax_models(num_classes: int) -> dict[str, torch.nn.Module]:
    from labelrepro.models.densenet import densenet_bc100
    from labelrepro.models.preact_resnet import resnet56_v2
    from labelrepro.models.vgg import vgg16_bn_dropout

    gen = torch.Generator().manual_seed(0)
    return {"resnet56_v2": resnet56_v2(num_classes, gen),
            "vgg16_bn_dropout": vgg16_bn_dropout(num_classes, gen),
            "densenet_bc100": densenet_bc100(num_classes, gen)}


def time_relax_model(net: torch.nn.Module, num_classes: int, device: torch.device,
                     steps: int) -> dict[str, float]:
    """Seconds per training step (batch 64, label relaxation) and per evaluation batch; FLOPs per image."""
    from labelrepro.papers.relaxation.losses import label_relaxation

    net = supervised.prepare_model(net, device, channels_last=True)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    gen = torch.Generator().manual_seed(0)
    x = supervised.to_input(torch.randn(RELAX_BATCH, 3, 32, 32, generator=gen).to(device), True)
    y = torch.randint(num_classes, (RELAX_BATCH,), generator=gen).to(device)

    def step() -> None:
        with supervised.autocast(device, True):
            logits = net(x)
        loss = label_relaxation(logits.float(), y, 0.1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    net.train()
    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops() / RELAX_BATCH
    step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    step_s = (time.perf_counter() - start) / steps
    net.eval()
    x_eval = supervised.to_input(torch.randn(RELAX_EVAL_BATCH, 3, 32, 32, generator=gen).to(device), True)
    with torch.no_grad(), supervised.autocast(device, True):
        net(x_eval)
        _sync(device)
        start = time.perf_counter()
        net(x_eval)
        _sync(device)
    return {"step_s": step_s, "eval_s": time.perf_counter() - start, "flops_per_image": flops}


def relax_cost(device: torch.device, steps: int, classes: tuple[int, ...] = (10, 100)) -> None:
    print(f"relax_cifar (seed 004) at paper scale on {device} ({torch.get_num_threads()} CPU threads), "
          f"batch {RELAX_BATCH}, {RELAX_TRAIN} training images")
    for num_classes in classes:
        for name, net in relax_models(num_classes).items():
            t = time_relax_model(net, num_classes, device, steps)
            epoch_s = (math.ceil(RELAX_TRAIN / RELAX_BATCH) * t["step_s"]
                       + math.ceil(RELAX_EVAL / RELAX_EVAL_BATCH) * t["eval_s"])
            run_h = epoch_s * RELAX_EPOCHS[num_classes] / 3600
            print(f"  {name:18s} C={num_classes:3d} {t['step_s']:6.3f} s/step  "
                  f"{epoch_s / 60:6.1f} min/epoch  "
                  f"{run_h:7.1f} h/run ({RELAX_EPOCHS[num_classes]} epochs)  "
                  f"{t['flops_per_image'] / 1e9:5.2f} GFLOP/train image")


def stability(name: str, settings: random_labels.Settings, device_name: str, steps: int,
              images: int, root: Path) -> None:
    """Train one cell for `steps` steps on a stand-in with CIFAR's epoch length; print the loss summary."""
    from labelrepro.data.fake import write_fake_cifar
    from labelrepro.engine.job import Job
    from labelrepro.engine.runtime import Runtime

    data = root / f"{settings.dataset}-{images}"
    if not data.exists():
        write_fake_cifar(data, settings.dataset, images, 100, seed=0)
    spec = {"trainer": "random_labels", "scale": "paper", "inputs": {}, "seeds": [0],
            "settings": {**dataclasses.asdict(settings), "train_subset": 0, "test_subset": 0}}
    runtime = Runtime(device=device_name, data_dir=str(data), download=False, verify_data=False,
                      checkpoint_dir=str(root / "ckpt"), progress="none")
    run = random_labels.RandomLabelsRun(Job(spec=spec, runtime=runtime, out_dir=root / "out"), [0])
    start = time.perf_counter()
    trace = random_labels.loss_trace(run, steps, math.ceil(CIFAR_TRAIN / settings.batch_size))
    seconds = (time.perf_counter() - start) / steps
    cls = [t["class"] for t in trace]
    finite = all(math.isfinite(v) for t in trace for v in t.values())
    worst = max(cls, key=lambda v: v if math.isfinite(v) else math.inf)
    first_bad = next((i for i, v in enumerate(cls) if not math.isfinite(v)), None)
    print(f"  {name:40s} lr {settings.lr:g} warm-up {settings.warmup_epochs:g} ep: class loss "
          f"{cls[0]:.3f} -> max {worst:.4g} -> last {cls[-1]:.4g}; rnd loss last {trace[-1]['rnd']:.4g}; "
          f"{'finite' if finite else f'NOT finite from step {first_bad}'}; {seconds:.2f} s/step", flush=True)
    print("    class loss every 10 steps: " + " ".join(f"{v:.3g}" for v in cls[::10]), flush=True)


def cost_key(settings: random_labels.Settings) -> tuple:
    """What a training step's cost depends on (see the module doc); equal keys are timed once."""
    with_reg = settings.lam > 0 or settings.single_output
    return (settings.model, settings.wrn_width, settings.copy_depth, settings.width_multiplier,
            settings.tail_mode, settings.num_random_labels, settings.single_output, with_reg,
            settings.batch_size, settings.eval_batch_size)


def count_flops(settings: random_labels.Settings, device: torch.device, batch: int) -> dict[str, float]:
    """Training FLOPs per image of one real step, counted at a small batch (the count per image does not
    depend on the batch size); no timing."""
    small = dataclasses.replace(settings, batch_size=batch)
    num_classes = 100 if settings.dataset == "cifar100" else 10
    net = supervised.prepare_model(random_labels.build_network(small, num_classes, 0), device,
                                   small.channels_last)
    optimizer = optim.build_optimizer(small, random_labels.parameter_groups(net, small))
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, 32, 32, generator=gen).to(device)
    y = torch.randint(num_classes, (batch,), generator=gen).to(device)
    s = torch.randint(small.num_random_labels, (batch,), generator=gen).to(device)
    with FlopCounterMode(display=False) as counter:
        random_labels.train_step(net, optimizer, small, x, y, s, small.lam > 0 or small.single_output)
    return {"flops_per_image": counter.get_total_flops() / batch, "step_s": math.nan, "eval_s": math.nan}


def cost_of_targets(experiments: dict, targets: list[str], device: torch.device, steps: int,
                    gpu_tflops: float, flops_batch: int = 0) -> None:
    """Per target and for the union of the targets: distinct runs, hours on `device`, PFLOP.

    `flops_batch` > 0 counts FLOPs only (at that batch) and times nothing: for a busy machine, where a
    timing would measure the other processes; the CPU-hours are then not printed."""
    timings: dict[tuple, dict[str, float]] = {}
    union: dict[str, tuple[float, float]] = {}
    print(f"{', '.join(targets)} at paper scale on {device} ({torch.get_num_threads()} CPU threads)")
    for target in targets:
        runs: dict[str, tuple[float, float]] = {}
        for name, cell in experiments[target].cells("paper").items():
            if cell.run.id in runs:
                continue
            settings = settings_from_dict(random_labels.Settings, cell.settings, name)
            key = cost_key(settings)
            if key not in timings:
                timings[key] = (count_flops(settings, device, flops_batch) if flops_batch
                                else time_cell(settings, device, steps))
                t = timings[key]
                verb = "counted" if flops_batch else "timed"
                print(f"  {verb} {name:44s} {t['step_s']:7.2f} s/step  {t['eval_s']:6.2f} s/eval batch  "
                      f"{t['flops_per_image'] / 1e9:6.2f} GFLOP/train image", flush=True)
            t = timings[key]
            eval_batches = math.ceil(CIFAR_TRAIN / settings.eval_batch_size) + math.ceil(
                CIFAR_TEST / settings.eval_batch_size
            )
            epoch_s = math.ceil(CIFAR_TRAIN / settings.batch_size) * t["step_s"] + eval_batches * t["eval_s"]
            epoch_flops = t["flops_per_image"] * (CIFAR_TRAIN + (CIFAR_TRAIN + CIFAR_TEST) / 3)
            n_seeds = len(cell.seeds)
            runs[cell.run.id] = (epoch_s * settings.epochs * n_seeds, epoch_flops * settings.epochs * n_seeds)
        union.update(runs)
        _report(target, runs, device, gpu_tflops)
    if len(targets) > 1:
        _report("all (shared runs once)", union, device, gpu_tflops)


def _report(label: str, runs: dict[str, tuple[float, float]], device: torch.device,
            gpu_tflops: float) -> None:
    seconds = sum(s for s, _ in runs.values())
    flops = sum(f for _, f in runs.values())
    measured = ("" if math.isnan(seconds)
                else f"{seconds / 3600:.0f} {device.type.upper()}-hours measured on {device}, ")
    line = f"{label}: {len(runs)} distinct runs, {measured}{flops / 1e15:.0f} PFLOP"
    if gpu_tflops:
        line += f"; {flops / (gpu_tflops * 1e12) / 3600:.1f} GPU-hours at an ASSUMED {gpu_tflops:g} TFLOP/s"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", required=True, nargs="+",
                        choices=["fig3a", "fig1b", "fig2", "fig3bc", "figA1", "figA2", "figA3",
                                 "relax_cifar"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=2, help="timed training steps per cell")
    parser.add_argument("--gpu-tflops", type=float, default=0.0,
                        help="assumed effective GPU throughput for a FLOP-based projection (0 = none)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    parser.add_argument("--relax-classes", default="10,100", help="relax_cifar: heads to time (10, 100)")
    parser.add_argument("--flops-only", type=int, default=0, metavar="BATCH",
                        help="several targets: count FLOPs per image at this batch, time nothing")
    parser.add_argument("--stability-steps", type=int, default=0,
                        help="train K steps on a stand-in instead of timing (see the module doc)")
    parser.add_argument("--cells", default="", help="stability mode: only cells whose name contains this")
    parser.add_argument("--standin-images", type=int, default=2560)
    parser.add_argument("--lr", type=float, default=None, help="stability mode: override the lr")
    parser.add_argument("--warmup-epochs", type=float, default=None,
                        help="stability mode: override warmup_epochs")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device, None)
    if args.target == ["relax_cifar"]:
        relax_cost(device, args.steps, tuple(int(c) for c in args.relax_classes.split(",")))
        return
    experiments = load_experiments()
    if len(args.target) > 1 or args.target[0] not in ("fig3a", "fig1b"):
        if args.stability_steps:
            parser.error("--stability-steps takes one of fig3a, fig1b")
        cost_of_targets(experiments, args.target, device, args.steps, args.gpu_tflops, args.flops_only)
        return
    experiment = experiments[args.target[0]]
    if args.stability_steps:
        print(f"{args.target[0]}: {args.stability_steps} steps per cell on a stand-in, {device}")
        with tempfile.TemporaryDirectory() as tmp:
            for name, cell in experiment.cells("paper").items():
                if args.cells not in name:
                    continue
                settings = settings_from_dict(random_labels.Settings, cell.settings, name)
                overrides = {k: v for k, v in (("lr", args.lr), ("warmup_epochs", args.warmup_epochs))
                             if v is not None}
                settings = dataclasses.replace(settings, **overrides)
                stability(name, settings, args.device, args.stability_steps, args.standin_images, Path(tmp))
        return
    print(f"{args.target[0]} at paper scale on {device} ({torch.get_num_threads()} CPU threads)")
    total_s = total_flops = 0.0
    for name, cell in experiment.cells("paper").items():
        settings = settings_from_dict(random_labels.Settings, cell.settings, name)
        t = time_cell(settings, device, args.steps)
        steps_per_epoch = math.ceil(CIFAR_TRAIN / settings.batch_size)
        eval_batches = math.ceil(CIFAR_TRAIN / settings.eval_batch_size) + math.ceil(
            CIFAR_TEST / settings.eval_batch_size
        )
        epoch_s = steps_per_epoch * t["step_s"] + eval_batches * t["eval_s"]
        # Training FLOPs per epoch plus evaluation (forward only, about a third of a training step).
        epoch_flops = t["flops_per_image"] * (CIFAR_TRAIN + (CIFAR_TRAIN + CIFAR_TEST) / 3)
        total_s += epoch_s * settings.epochs * len(cell.seeds)
        total_flops += epoch_flops * settings.epochs * len(cell.seeds)
        print(
            f"  {name:40s} {t['step_s']:7.2f} s/step  {epoch_s / 60:7.1f} min/epoch  "
            f"{t['flops_per_image'] / 1e9:6.2f} GFLOP/train image"
        )
    print(f"total: {total_s / 3600:.1f} {device.type.upper()}-hours measured on {device} "
          f"({total_flops / 1e15:.1f} PFLOP)")
    if args.gpu_tflops:
        hours = total_flops / (args.gpu_tflops * 1e12) / 3600
        print(f"projection: {hours:.1f} GPU-hours at an ASSUMED {args.gpu_tflops:g} TFLOP/s effective")


if __name__ == "__main__":
    main()
