"""Cost of one LIMIT-table epoch at paper settings (full-size MNIST, Adam, batch 256) per method and n.

Runs the real trainer (`labelrepro.papers.limit.trainer.LimitRun`, through the engine's
`labelrepro.engine.loop.train`) on FAKE full-size MNIST files written by
`labelrepro.data.fake.write_fake_mnist` (60,000 train / 10,000 test images in the real IDX format; the
cost does not depend on pixel values) for `--epochs` epochs of one split, and reports the median of the
per-epoch wall times the trainer records (`epoch_s`: training pass over the n examples + validation on
12,000 images + the test set (10,000) whenever the validation accuracy improves). The median over
epochs 2.. drops the first epoch's warm-up and resists other load on a shared machine.

    python benchmarks/bench_limit_epoch.py [--device cpu] [--threads 2] [--epochs 4] [--sizes 0 10000 1000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 10_000, 1000])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    args = parser.parse_args()
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
