"""Progress reporting for long runs.

On a terminal: a tqdm bar with rate and ETA. Otherwise (Snakemake logs, SLURM output files): one concise
line per reporting period, so a log tail shows where a run is and when it will finish without the
carriage-return noise of a progress bar.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm import tqdm


def _format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class Progress:
    """Counts units of work (epochs, steps) towards `total` and reports metrics alongside.

    `mode` is 'auto' (bar on a TTY, lines otherwise), 'bar', 'lines' or 'none'.
    `start` lets a resumed run continue the count (and its ETA) from the checkpoint.
    """

    def __init__(
        self,
        total: int,
        label: str,
        unit: str = "epoch",
        mode: str = "auto",
        start: int = 0,
        stream: TextIO | None = None,
    ) -> None:
        if mode not in {"auto", "bar", "lines", "none"}:
            raise ValueError(f"progress mode must be auto, bar, lines or none; got '{mode}'")
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "lines"
        self.mode = mode
        self.total, self.label, self.unit = total, label, unit
        self.done = start
        self._start_done = start
        self._t0 = time.monotonic()
        self._bar = (
            tqdm(total=total, initial=start, desc=label, unit=unit, file=self.stream, dynamic_ncols=True)
            if mode == "bar"
            else None
        )

    def update(self, n: int = 1, **metrics: float) -> None:
        """Advance by `n` units and report the given metrics."""
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            if metrics:
                self._bar.set_postfix({k: f"{v:.4g}" for k, v in metrics.items()}, refresh=False)
        elif self.mode == "lines":
            self.stream.write(self.line(metrics) + "\n")
            self.stream.flush()

    def line(self, metrics: dict[str, float]) -> str:
        """One log line: position, metrics, elapsed time and ETA from the rate since (re)start."""
        elapsed = time.monotonic() - self._t0
        advanced = self.done - self._start_done
        eta = elapsed / advanced * (self.total - self.done) if advanced > 0 else float("nan")
        shown = " ".join(f"{k}={v:.4g}" for k, v in metrics.items())
        eta_text = _format_duration(eta) if eta == eta else "?"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return (
            f"[{self.label}] {self.unit} {self.done}/{self.total} ({pct:.0f}%) {shown} "
            f"| elapsed {_format_duration(elapsed)} eta {eta_text}"
        )

    def message(self, text: str) -> None:
        """A free-form note (e.g. 'resumed from checkpoint') that does not break the bar."""
        if self._bar is not None:
            self._bar.write(f"[{self.label}] {text}", file=self.stream)
        elif self.mode != "none":
            self.stream.write(f"[{self.label}] {text}\n")
            self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
