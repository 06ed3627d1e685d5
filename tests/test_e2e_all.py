"""The DAG of `snakemake all` (what `make run` builds): every target, offline at smoke scale.

Dry runs only (the targets themselves are built by the per-paper end-to-end tests): at smoke scale each
CIFAR/MNIST target reads a stand-in dataset made by the workflow, at paper scale none does.
"""

from __future__ import annotations

import re

import pytest

from labelrepro.experiment import load_experiments
from tests.e2e_helpers import make_working_copy, snakemake

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return make_working_copy(tmp_path_factory.mktemp("e2e-all") / "artifact")


def _datasets() -> set[str]:
    found = set()
    for exp in load_experiments().values():
        for cell in exp.cells("smoke").values():
            if "dataset" in cell.settings:
                found.add(cell.settings["dataset"])
    return found


def test_smoke_all_uses_standins_for_every_dataset(workdir):
    result = snakemake(workdir, "-n", "all")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    for exp in load_experiments().values():
        assert exp.output in out
        assert f"results/{exp.name}/smoke/scorecard.csv" in out
    assert re.search(r"scorecard_summary\s+1\n", out) and re.search(r"paper_body\s+1\n", out), out[-3000:]
    datasets = _datasets()
    assert datasets, "no experiment reads a torchvision dataset"
    assert re.search(rf"standin_dataset\s+{len(datasets)}\n", out), out[-3000:]
    for dataset in datasets:
        assert f"data/standin/{dataset}" in out


def test_paper_all_reads_real_data(workdir):
    result = snakemake(workdir, "-n", "all", "--config", "scale=paper")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "standin_dataset" not in out


def test_smoke_data_real_skips_standins(workdir):
    result = snakemake(workdir, "-n", "all", "--config", "smoke_data=real")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "standin_dataset" not in out


def test_standin_cli_rejects_unknown_dataset(tmp_path):
    from labelrepro.cli import main

    assert main(["standin", "--dataset", "imagenet", "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


@pytest.fixture(scope="module")
def workdir_with_unbuilt(tmp_path_factory):
    """A working copy whose catalogue lists one figure and one table that have no experiment file (so the
    test does not depend on which catalogue targets are still to be built)."""
    import yaml

    copy = make_working_copy(tmp_path_factory.mktemp("e2e-unbuilt") / "artifact")
    path = copy / "workflow" / "catalogue.yaml"
    catalogue = yaml.safe_load(path.read_text())
    catalogue["figures"]["003"].append("unbuilt_fig")
    catalogue["tables"]["003"].append("unbuilt_table")
    path.write_text(yaml.safe_dump(catalogue))
    return copy


@pytest.mark.parametrize("target", ["figures/unbuilt_fig.pdf", "paper/tables/unbuilt_table.tex"])
def test_catalogue_target_not_implemented_is_named_before_any_job(workdir_with_unbuilt, target):
    result = snakemake(workdir_with_unbuilt, "-n", target)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "is in the catalogue but not implemented yet" in out and "figures/fig3a.pdf" in out
    assert "MissingRuleException" not in out


def test_unknown_target_is_named(workdir):
    result = snakemake(workdir, "-n", "figures/fig99.pdf")
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "is not a target of this artifact" in out
