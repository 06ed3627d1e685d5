"""The install and the documented commands stay consistent."""

from __future__ import annotations

import re
import tomllib

import yaml


def test_environment_yml_names_the_same_dependencies_as_pyproject(repo_root):
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["dependencies"]
    environment = yaml.safe_load((repo_root / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert pip_section == pyproject
    assert "torch===2.13.0" in pyproject and "torchvision==0.28.0" in pyproject


def test_torch_and_torchvision_pair_loads():
    import torch
    import torchvision
    from torchvision.ops import nms  # compiled ops: fails with a mismatched (e.g. +cpu) torch build

    assert torch.__version__.startswith("2.13.0") and torchvision.__version__.startswith("0.28.0")
    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    assert nms(boxes, torch.tensor([0.9, 0.8]), 0.5).tolist() == [0]


def _readme_commands(readme: str) -> list[str]:
    section = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\s*(make \w+)\s*(?:#.*)?$", section, flags=re.MULTILINE)


def test_readme_states_two_setup_commands_and_ci_runs_the_test_one(repo_root):
    commands = _readme_commands((repo_root / "README.md").read_text())
    assert commands == ["make run", "make test"]
    ci = (repo_root / ".ci/run").read_text()
    assert re.search(r"^make test$", ci, flags=re.MULTILINE)


def test_readme_target_table_lists_every_experiment(repo_root):
    from labelrepro.experiment import load_experiments

    readme = (repo_root / "README.md").read_text()
    for name, experiment in load_experiments(repo_root / "workflow/experiments").items():
        assert f"`{name}`" in readme and experiment.output in readme
