"""The seed-001 experiment files against the paper's grids (supplement Appendix B)."""

from __future__ import annotations

import pytest

from labelrepro.experiment import EXPERIMENTS_DIR, load_experiments
from labelrepro.papers.limit.methods import METHODS, table_order

NOISE = {"limit_table4": {0.0, 0.5}, "limit_table5": {0.8, 0.89}}
_GRAD_NOISE_STDS = (0.01, 0.03, 0.1, 0.3)  # official generate_commands.py for CE+GN/LN; supplement for +S
_LIMIT_BETAS = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)  # supplement B
#: The hyperparameter grid of each method (supplement Appendix B and the official commands).
PAPER_GRIDS: dict[str, dict[str, tuple[float, ...]]] = {
    "ce": {},
    "ce_gn": {"sigma": _GRAD_NOISE_STDS},
    "ce_ln": {"sigma": _GRAD_NOISE_STDS},
    "mae": {},
    "fw": {},
    "dmi": {"lr": (1e-3, 1e-4, 1e-5, 1e-6)},
    "soft_reg": {"lam": (0.001, 0.01, 0.03, 0.1), "beta": (0.0, 0.01, 0.1, 1.0, 10.0)},
    "limit_g": {"beta": _LIMIT_BETAS},
    "limit_g_s": {"beta": _LIMIT_BETAS, "sigma": _GRAD_NOISE_STDS},
    "limit_l": {"beta": _LIMIT_BETAS},
    "limit_l_s": {"beta": _LIMIT_BETAS, "sigma": _GRAD_NOISE_STDS},
}
#: The methods of Tables 4-5 (MNIST); Tables 6-7 (CIFAR-10) add LIMIT + init. (tests below).
MNIST_METHODS = [m for m in table_order() if not m.endswith("_init")]


@pytest.fixture(scope="module")
def experiments():
    return load_experiments(EXPERIMENTS_DIR / "limit")


def test_every_method_has_its_paper_grid() -> None:
    assert set(PAPER_GRIDS) == set(MNIST_METHODS) and len(MNIST_METHODS) == 11
    assert set(METHODS) - set(MNIST_METHODS) == {"limit_g_init", "limit_l_init"}
    for name, grid in PAPER_GRIDS.items():
        # a method's grid varies only hyperparameters it uses (lr is every method's)
        assert set(grid) - {"lr"} <= METHODS[name].uses, name


@pytest.mark.parametrize("name", sorted(NOISE))
def test_paper_grid_is_the_supplements(experiments, name: str) -> None:
    experiment = experiments[name]
    points = experiment.points_at("paper")
    assert {p["noise_rate"] for p in points} == NOISE[name]
    assert {p["train_size"] for p in points} == {1000, 10000, 0}
    for method in MNIST_METHODS:
        mine = [p for p in points if p["method"] == method and p["noise_rate"] == min(NOISE[name])
                and p["train_size"] == 1000]
        grid = PAPER_GRIDS[method]
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


def test_smoke_has_one_point_per_method_and_column(experiments) -> None:
    cells = experiments["limit_table4"].cells("smoke")
    assert len(cells) == len(MNIST_METHODS) * 2 * 3


def test_fw_and_dmi_cells_start_from_the_ce_run_of_their_column(experiments) -> None:
    cells = experiments["limit_table4"].cells("smoke")
    column = "noise_rate-0.5_train_size-100"
    ce = cells[f"{column}_method-ce"].run
    assert ce.inputs == () and ce.trainer == "limit" and ce.scale == "smoke" and ce.seeds == (42, 43)
    assert ce.settings["method"] == "ce" and ce.settings["noise_rate"] == 0.5
    fw, dmi = cells[f"{column}_method-fw"].run, cells[f"{column}_method-dmi_lr-0.0001"].run
    assert fw.inputs == (("init", ce.id),) and dmi.inputs == (("init", ce.id),)
    assert dmi.settings["lr"] == 1e-4 and ce.settings["lr"] == 1e-3  # CE trains with its own lr
    # every other method starts from scratch, and a CE run of another column is another run
    for cell in cells.values():
        if cell.settings["method"] not in ("fw", "dmi"):
            assert cell.run.inputs == (), cell.name
    assert cells["noise_rate-0.5_train_size-300_method-ce"].run.id != ce.id


# ----------------------------------------------------------------------------- CIFAR-10 (Tables 6, 7)

#: The official generate_commands.py CIFAR grids (docs/decisions.md): LIMIT beta stops at 30, LIMIT_L's
#: at 10 in the "CIFAR10-custom" block (pair noise and p = 0).
_CIFAR_BETAS = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


@pytest.mark.parametrize(("name", "rates"), [("limit_table6", {0.0, 0.2, 0.4, 0.6, 0.8}),
                                             ("limit_table7", {0.0, 0.1, 0.2, 0.3, 0.4})])
def test_cifar_grids_are_the_official_commands(experiments, name: str, rates: set[float]) -> None:
    cells = experiments[name].cells("paper")
    assert {c.point["noise_rate"] for c in cells.values()} == rates
    assert all(c.seeds == (42,) and c.settings["dataset"] == "cifar10" for c in cells.values())
    for cell in cells.values():
        s, p = cell.settings, cell.point["noise_rate"]
        assert s["augment"] == {"crop_padding": 4, "hflip": True} and s["epochs"] == 400
        assert s.get("noise_model", "uniform") == ("pair" if name == "limit_table7" and p > 0 else "uniform")
    methods = {c.point["method"] for c in cells.values()}
    assert methods == {"ce", "mae", "fw", "dmi", "limit_g", "limit_l", "limit_g_init", "limit_l_init"}
    beta_l = {c.point["beta"] for c in cells.values() if c.point["method"] == "limit_l"
              and c.point["noise_rate"] == 0.0}
    assert beta_l == set(_CIFAR_BETAS[:-1])
    beta_g = {c.point["beta"] for c in cells.values() if c.point["method"] == "limit_g_init"}
    assert beta_g == set(_CIFAR_BETAS)


def test_cifar_init_and_fw_cells_start_from_the_ce_row_of_their_column(experiments) -> None:
    for name in ("limit_table6", "limit_table7"):
        cells = experiments[name].cells("paper")
        ce = {c.point["noise_rate"]: c.run.id for c in cells.values() if c.point["method"] == "ce"}
        for cell in cells.values():
            if cell.point["method"] in ("fw", "dmi", "limit_g_init", "limit_l_init"):
                assert cell.run.inputs == (("init", ce[cell.point["noise_rate"]]),), cell.name
            else:
                assert cell.run.inputs == (), cell.name
    # the p = 0 column is the same runs in both tables
    zero = [{c.run.id for c in experiments[n].cells("paper").values() if c.point["noise_rate"] == 0.0}
            for n in ("limit_table6", "limit_table7")]
    assert zero[0] == zero[1] and len(zero[0]) == 33
