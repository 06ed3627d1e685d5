"""Validation of settings, experiment files and the run-wide config: errors name the offending key."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Literal

import pytest
import yaml

from labelrepro.core.config import ConfigError, settings_from_dict, validate_against_schema
from labelrepro.experiment import SCHEMA_DIR, cell_name, load_experiment, load_experiments


@dataclass(frozen=True)
class Example:
    lr: float
    steps: int
    mode: Literal["a", "b"] = "a"
    flag: bool = False


def test_settings_ok_and_int_widened_to_float():
    s = settings_from_dict(Example, {"lr": 1, "steps": 3}, "x")
    assert s == Example(lr=1.0, steps=3) and isinstance(s.lr, float)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"lr": 0.1, "step": 3}, "unknown setting 'step' (did you mean 'steps'?)"),
        ({"lr": 0.1}, "missing required setting(s): steps"),
        ({"lr": "fast", "steps": 3}, "x.lr: expected a number, got 'fast'"),
        ({"lr": 0.1, "steps": 2.5}, "x.steps: expected an integer"),
        ({"lr": 0.1, "steps": 1, "mode": "c"}, "x.mode: 'c' is not one of 'a', 'b'"),
        ({"lr": 0.1, "steps": 1, "flag": "yes"}, "x.flag: expected true or false"),
    ],
)
def test_settings_errors_name_the_key(values, message):
    with pytest.raises(ConfigError) as err:
        settings_from_dict(Example, values, "x")
    assert message in str(err.value)


def test_workflow_config_schema(repo_root):
    schema = SCHEMA_DIR / "config.schema.yaml"
    config = yaml.safe_load((repo_root / "workflow/config/config.yaml").read_text())
    validate_against_schema(config, schema, "config")
    with pytest.raises(ConfigError, match="'scal' was unexpected"):
        validate_against_schema({**config, "scal": "paper"}, schema, "config")
    with pytest.raises(ConfigError, match="at 'scale'"):
        validate_against_schema({**config, "scale": "huge"}, schema, "config")
    with pytest.raises(ConfigError, match="at 'device'"):
        validate_against_schema({**config, "device": "tpu"}, schema, "config")


def test_all_shipped_experiments_load(repo_root):
    experiments = load_experiments(repo_root / "workflow/experiments")
    assert "sparsity_fig1" in experiments
    fig1 = experiments["sparsity_fig1"]
    assert fig1.output == "figures/sparsity_fig1.pdf"
    paper = fig1.cells("paper")
    assert list(paper) == ["label_noise-0", "label_noise-0.2"]
    cell = paper["label_noise-0.2"]
    assert cell.seeds == tuple(range(20))
    assert cell.settings["d"] == 60 and cell.settings["hidden"] == 240 and cell.settings["n_train"] == 240
    assert cell.settings["lr"] == pytest.approx(1 / 60) and cell.settings["label_noise"] == 0.2


def _copy_experiment(repo_root, tmp_path, edit):
    src = repo_root / "workflow/experiments/sparsity/sparsity_fig1.yaml"
    raw = yaml.safe_load(src.read_text())
    edit(raw)
    path = tmp_path / "sparsity_fig1.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_experiment_typo_in_settings_is_named(repo_root, tmp_path):
    path = _copy_experiment(repo_root, tmp_path, lambda raw: raw["settings"].update(epss=0.3))
    with pytest.raises(ConfigError, match=r"unknown setting 'epss' \(did you mean 'eps'\?\)"):
        load_experiment(path)


def test_experiment_unknown_top_level_key_is_named(repo_root, tmp_path):
    path = _copy_experiment(repo_root, tmp_path, lambda raw: raw.update(seedz=3))
    with pytest.raises(ConfigError, match="'seedz' was unexpected"):
        load_experiment(path)


def test_experiment_unknown_trainer(repo_root, tmp_path):
    path = _copy_experiment(repo_root, tmp_path, lambda raw: raw.update(trainer="nope"))
    with pytest.raises(ConfigError, match=r"unknown trainer 'nope'; known: .*sparsity"):
        load_experiment(path)


def test_experiment_bad_grid_value(repo_root, tmp_path):
    path = _copy_experiment(repo_root, tmp_path, lambda raw: raw["grid"].update(label_noise=[0.0, 2.0]))
    with pytest.raises(ConfigError, match="label_noise must lie in"):
        load_experiment(path)


def test_unbatched_seeds_give_one_cell_per_seed(repo_root, tmp_path):
    def edit(raw):
        raw["batch_seeds"] = False
        raw["scales"]["smoke"]["seeds"] = [3, 5]

    experiment = load_experiment(_copy_experiment(repo_root, tmp_path, edit))
    names = list(experiment.cells("smoke"))
    assert names == ["label_noise-0_seed-3", "label_noise-0_seed-5", "label_noise-0.2_seed-3",
                     "label_noise-0.2_seed-5"]
    assert experiment.cells("smoke")["label_noise-0.2_seed-5"].seeds == (5,)


def test_cell_names():
    assert cell_name({}) == "default"
    name = cell_name({"a": 0.5, "method": "ce+gn", "flag": True}, seed=2)
    assert name == "a-0.5_method-ce+gn_flag-true_seed-2"


def test_experiment_name_must_match_file(repo_root, tmp_path):
    path = _copy_experiment(repo_root, tmp_path, lambda raw: None)
    renamed = tmp_path / "other.yaml"
    shutil.move(path, renamed)
    with pytest.raises(ConfigError, match="must match the file name"):
        load_experiment(renamed)


def test_grid_list_is_union_of_products(tmp_path):
    """A list grid concatenates its sub-grids' products; a point listed twice runs once."""
    from labelrepro.experiment import Experiment

    exp = Experiment(
        name="t", paper="x", element="x", kind="figure", trainer="sparsity", aggregate="final_per_run",
        render="sparsity_fig1", settings={}, cost={"smoke_runtime": "", "paper_cost": ""},
        grid=[{"method": ["ce"]}, {"method": ["gn", "ln"], "sigma": [0.1, 0.3]}, {"method": ["ce"]}],
        scales={"smoke": {"seeds": 1, "resources": {}}, "paper": {"seeds": 1, "resources": {},
                "grid": {"method": ["ce"]}}},
    )
    assert exp.points_at("smoke") == [
        {"method": "ce"},
        {"method": "gn", "sigma": 0.1}, {"method": "gn", "sigma": 0.3},
        {"method": "ln", "sigma": 0.1}, {"method": "ln", "sigma": 0.3},
    ]
    assert exp.points_at("paper") == [{"method": "ce"}]
