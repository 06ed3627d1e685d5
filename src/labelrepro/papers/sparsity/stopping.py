"""Seed 003 §6.3's stopping rule, made precise: "till they reach zero classification error and then some
more until the test error stabilizes".

Over one run's evaluations e = 0, 1, 2, ... (step 0 and the end of every evaluation period), with
W = `window` evaluation periods and tol = `tolerance`:

- T0 is the first evaluation whose clean training error is 0 (the error of sign N(x) against the
  training set's true labels: for p > 0 the per-step noisy labels are never the ones scored);
- the run stops at the first evaluation e such that
  (a) its clean training error is 0,
  (b) e - 2W + 1 >= T0: the last 2W evaluations all come after the network first fitted the data, and
  (c) |mean(test[e-W+1 .. e]) - mean(test[e-2W+1 .. e-W])| <= tol: the W-period moving average of
      the test error moved by at most tol over the last W periods.

The rule only looks backwards, so it is the point at which a run trained under it would have stopped.
Pure Python: the trainer records it, the aggregator and the tests read it, and none needs torch.
"""

from __future__ import annotations

from collections.abc import Sequence


def moving_average_change(test_error: Sequence[float], index: int, window: int) -> float | None:
    """mean(test[index-W+1 .. index]) - mean(test[index-2W+1 .. index-W]); None before 2W evaluations."""
    first = index - 2 * window + 1
    if first < 0 or index >= len(test_error):
        return None
    older = test_error[first : first + window]
    recent = test_error[first + window : index + 1]
    return sum(recent) / window - sum(older) / window


def stopping_index(
    train_error: Sequence[float], test_error: Sequence[float], window: int, tolerance: float
) -> int | None:
    """The first evaluation that meets the rule (see the module docstring), or None if none does."""
    if len(train_error) != len(test_error):
        raise ValueError(f"{len(train_error)} training errors but {len(test_error)} test errors")
    if window < 1 or tolerance < 0:
        raise ValueError(f"need window >= 1 and tolerance >= 0, got {window} and {tolerance}")
    first_zero = next((e for e, err in enumerate(train_error) if err == 0), None)
    if first_zero is None:
        return None
    for e in range(first_zero + 2 * window - 1, len(train_error)):
        if train_error[e] != 0:
            continue
        change = moving_average_change(test_error, e, window)
        # a small epsilon so that a change equal to tol in decimal arithmetic is not lost to rounding
        if change is not None and abs(change) <= tolerance + 1e-12:
            return e
    return None
