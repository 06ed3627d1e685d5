"""The seed-001 experiment files against the paper's grids (supplement Appendix B)."""

from __future__ import annotations

import pytest

from labelrepro.experiment import EXPERIMENTS_DIR, load_experiment
from labelrepro.losses.limit import LIMIT_METHODS, method_spec

NOISE = {"limit_table4": {0.0, 0.5}, "limit_table5": {0.8, 0.89}}


@pytest.mark.parametrize("name", sorted(NOISE))
def test_paper_grid_is_the_supplements(name: str) -> None:
    experiment = load_experiment(EXPERIMENTS_DIR / f"{name}.yaml")
    points = experiment.points_at("paper")
    assert {p["noise_rate"] for p in points} == NOISE[name]
    assert {p["train_size"] for p in points} == {1000, 10000, 0}
    for method in LIMIT_METHODS:
        mine = [p for p in points if p["method"] == method and p["noise_rate"] == min(NOISE[name])
                and p["train_size"] == 1000]
        grid = {k: v for k, v in method_spec(method)["grid"].items() if len(v) > 1}
        expected = 1
        for values in grid.values():
            expected *= len(values)
        assert len(mine) == expected, method
        for key, values in grid.items():
            assert {p[key] for p in mine} == set(values), (method, key)
    cells = experiment.cells("paper")
    assert len(cells) == 690 and all(c.seeds == (42, 43, 44, 45, 46) for c in cells.values())
    settings = next(iter(cells.values())).settings
    protocol = (settings["epochs"], settings["patience"], settings["batch_size"], settings["lr"])
    assert protocol == (400, 100, 256, 1e-3)


def test_smoke_has_one_point_per_method_and_column() -> None:
    cells = load_experiment(EXPERIMENTS_DIR / "limit_table4.yaml").cells("smoke")
    assert len(cells) == len(LIMIT_METHODS) * 2 * 3
