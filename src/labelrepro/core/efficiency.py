"""Measured training cost (ALASCA Table 3: GPU memory and time as multiples of Standard training).

Table 3's "× Standard" ratios must come from measurements of our own runs, so every ALASCA-trainer run
records, per epoch, the wall time of its training steps and the peak memory its training needed.

* Time: wall seconds of the optimisation steps of one epoch (evaluation excluded, which every method
  shares); on CUDA the device is synchronised before reading the clock, so queued kernels are counted.
* Memory: peak memory *above a baseline taken after the data were loaded*. The datasets sit on the
  training device (`DeviceDataset`) and are the same for every method; the paper's loader kept them in
  host memory, so the baseline keeps them out of the ratio. On CUDA this is
  `max_memory_allocated() − baseline allocated` over the training steps (PyTorch's caching allocator,
  exact per tensor; the peak counter is reset after each evaluation). On CPU it is the largest resident
  set size sampled during the training steps (`sample()` after the forward and the backward pass, where
  activations and gradients are held) minus the resident size at the baseline: coarser (it counts
  allocator slack and misses peaks between samples), so CPU ratios are indicative only.

What is timed must not wait for the host: the trainers that use this meter keep their per-step logs
(loss, accuracy, method logs) as device tensors and read them once after `stop()`, so the only
synchronisations in the timed region are the meter's own, at `start()` and `stop()`. Ratios compare runs
of one precision (the ALASCA trainer records it as `precision` in the run's metadata).
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import torch


def current_rss_mb() -> float:
    """The process's resident set size now (MiB), from /proc/self/statm (0 where it does not exist)."""
    statm = Path("/proc/self/statm")
    if not statm.exists():
        return 0.0
    pages = int(statm.read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


class EfficiencyMeter:
    """Per-epoch training time and peak training memory of one run (see the module docstring)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.baseline_mb = 0.0
        self._peak_mb = 0.0
        self._started: float | None = None
        self.set_baseline()

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def set_baseline(self) -> None:
        """Memory in use now (the loaded data) is excluded from `peak_memory_mb`."""
        if self.device.type == "cuda":
            self._sync()
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline_mb = torch.cuda.memory_allocated(self.device) / 2**20
        else:
            self.baseline_mb = current_rss_mb()

    def sample(self) -> None:
        """Record the memory in use now (CPU; on CUDA the allocator tracks its peak by itself)."""
        if self.device.type != "cuda":
            self._peak_mb = max(self._peak_mb, current_rss_mb())

    def peak_memory_mb(self) -> float:
        """Peak training memory above the baseline so far (MiB, ≥ 0)."""
        if self.device.type == "cuda":
            self._peak_mb = max(self._peak_mb, torch.cuda.max_memory_allocated(self.device) / 2**20)
        return max(0.0, self._peak_mb - self.baseline_mb)

    def start(self) -> None:
        """Start timing an epoch's training steps (and, on CUDA, restart the peak counter so that the
        evaluation between epochs does not count)."""
        self._sync()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        self._started = time.perf_counter()

    def stop(self) -> float:
        """Seconds since `start` (device work included)."""
        if self._started is None:
            raise RuntimeError("EfficiencyMeter.stop() called before start()")
        self._sync()
        elapsed = time.perf_counter() - self._started
        self._started = None
        return elapsed
