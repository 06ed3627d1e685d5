"""Seed 003's stopping rule (hand-computed sequences) and the `sparsity_at_stop` aggregator."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from labelrepro.papers.sparsity.aggregate import at_stopping_step
from labelrepro.papers.sparsity.settings import SparsitySettings
from labelrepro.papers.sparsity.stopping import moving_average_change, stopping_index
from labelrepro.registry import AGGREGATORS


def test_constant_test_error_stops_two_windows_after_the_first_zero():
    train = [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    test = [0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]
    # first zero at e = 1; windows test[1..2] and test[3..4] both average 0.4 -> stop at e = 4
    assert stopping_index(train, test, window=2, tolerance=0.0) == 4


def test_decreasing_test_error_stops_once_the_moving_average_flattens():
    train = [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    test = [0.5, 0.40, 0.36, 0.33, 0.31, 0.30, 0.30, 0.30]
    # e=4: 0.38 -> 0.32 (0.06); e=5: 0.345 -> 0.305 (0.04); e=6: 0.32 -> 0.30 (0.02);
    # e=7: 0.305 -> 0.30 (0.005 <= 0.01)
    assert moving_average_change(test, 6, 2) == pytest.approx(-0.02)
    assert stopping_index(train, test, window=2, tolerance=0.01) == 7
    assert stopping_index(train, test, window=2, tolerance=0.02) == 6  # a change equal to tol passes
    assert stopping_index(train, test, window=2, tolerance=0.001) is None


def test_an_increasing_test_error_is_not_stable_either():
    train = [0.0] * 6
    test = [0.1, 0.1, 0.2, 0.2, 0.2, 0.2]
    # e=3: 0.1 -> 0.2 (+0.1); e=4: 0.15 -> 0.2 (+0.05); e=5: 0.2 -> 0.2
    assert stopping_index(train, test, window=2, tolerance=0.04) == 5


def test_stopping_point_needs_zero_training_error_itself():
    train = [0.5, 0.0, 0.0, 0.0, 0.01, 0.0, 0.0]
    test = [0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]
    assert stopping_index(train, test, window=2, tolerance=0.0) == 5


def test_both_windows_come_after_the_first_zero_training_error():
    train = [0.5, 0.5, 0.5, 0.0, 0.1, 0.0, 0.0, 0.0]
    test = [0.3] * 8  # the test error is flat from the start, but the network fits the data at e = 3
    assert stopping_index(train, test, window=2, tolerance=0.0) == 6
    assert stopping_index(train, test, window=1, tolerance=0.0) == 5  # e = 4 has training error 0.1


def test_never_stops_without_zero_training_error_or_enough_evaluations():
    assert stopping_index([0.1] * 10, [0.3] * 10, window=2, tolerance=1.0) is None
    assert stopping_index([0.0] * 3, [0.3] * 3, window=2, tolerance=1.0) is None
    assert stopping_index([], [], window=1, tolerance=0.0) is None


def test_rule_rejects_bad_arguments():
    with pytest.raises(ValueError, match="training errors"):
        stopping_index([0.0], [0.1, 0.2], window=1, tolerance=0.0)
    with pytest.raises(ValueError, match="window"):
        stopping_index([0.0], [0.1], window=0, tolerance=0.0)
    base = {"d": 2, "hidden": 2, "n_train": 2, "n_test": 2, "eps": 0.3, "lr": 0.1, "steps": 10,
            "eval_every": 5}
    with pytest.raises(ValueError, match="stop_window"):
        SparsitySettings(**base, stop_window=0)
    with pytest.raises(ValueError, match="stop_tolerance"):
        SparsitySettings(**base, stop_tolerance=-0.1)


def curves_frame() -> pd.DataFrame:
    """Two cells x two seeds, five evaluations each; three runs met the rule, one did not."""
    rows = []
    stops = {("label_noise-0", 0): 200, ("label_noise-0", 1): 100, ("label_noise-0.2", 0): 400,
             ("label_noise-0.2", 1): None}
    for (cell, seed), stop in stops.items():
        for k, step in enumerate(range(0, 500, 100)):
            rows.append({
                "cell": cell, "label_noise": 0.0 if cell.endswith("-0") else 0.2, "seed": seed,
                "step": step, "train_error": 0.0 if k else 0.5, "test_error": 0.5 - 0.01 * k - 0.1 * seed,
                "active_train": 100.0 - 10 * k, "active_test": 99.0 - 10 * k,
                "active_frac_train": (100.0 - 10 * k) / 200,
                "stop_step": stop, "stopped": stop is not None and step >= stop,
            })
    frame = pd.DataFrame(rows)
    return frame.sample(frac=1.0, random_state=0)  # the aggregator must not rely on row order


def test_aggregator_picks_each_run_at_its_stopping_step():
    assert AGGREGATORS["sparsity_at_stop"] is at_stopping_step
    table = at_stopping_step(curves_frame())
    assert list(zip(table["cell"], table["seed"], strict=True)) == [
        ("label_noise-0", 0), ("label_noise-0", 1), ("label_noise-0.2", 0), ("label_noise-0.2", 1)
    ]
    assert table["step"].tolist() == [200, 100, 400, 400]  # the last run never met the rule: last row
    assert table["stop_met"].tolist() == [True, True, True, False]
    assert table["stop_step"].iloc[:3].tolist() == [200, 100, 400] and math.isnan(table["stop_step"].iloc[3])
    assert table["test_error"].tolist() == pytest.approx([0.48, 0.39, 0.46, 0.36])
    assert table["active_train"].tolist() == [80.0, 90.0, 60.0, 60.0]
    assert table["last_step"].eq(400).all()
    assert table["test_error_last"].tolist() == pytest.approx([0.46, 0.36, 0.46, 0.36])
    assert table["active_train_last"].eq(60.0).all() and table["active_test_last"].eq(59.0).all()
    assert "stopped" not in table


def test_aggregator_names_the_missing_stop_column():
    with pytest.raises(ValueError, match=r"stop_step.*train them again"):
        at_stopping_step(curves_frame().drop(columns=["stop_step"]))
