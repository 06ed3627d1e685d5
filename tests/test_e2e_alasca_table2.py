"""End-to-end: `alasca_table2` (Clothing1M) through real Snakemake. Smoke scale builds the table from the
FAKE Clothing1M copy the workflow writes in the dataset's layout (4 runs of ResNet-50 on 32-pixel crops,
random init, offline); paper scale without the data stops while the DAG is built, naming the folder and
the expected files."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.e2e_helpers import build_at, make_working_copy, snakemake

pytestmark = pytest.mark.e2e

TARGET = "paper/tables/alasca_table2.tex"


def test_table2_smoke_on_the_fake_copy(tmp_path):
    workdir = build_at(tmp_path, TARGET)
    fake = workdir / "data/standin/clothing1m/clothing1m"
    assert (fake / "annotations/noisy_label_kv.txt").is_file()
    assert (fake / "noisy_train_key_list.txt").is_file()
    assert any((fake / "images").rglob("*.jpg"))
    tex = (workdir / TARGET).read_text()
    assert "SMOKE SCALE" in tex and "74.81$^\\dagger$" in tex and "not re-run" in tex
    final = pd.read_csv(workdir / "results/alasca_table2/smoke/aggregate.csv")
    assert len(final) == 4 and set(final["method"]) == {"standard", "coteaching"}
    assert set(final["variant"]) == {"base", "alasca"} and final["test_acc_avg"].between(0, 1).all()
    cells = pd.read_csv(workdir / "paper/tables/alasca_table2.csv")
    assert (cells["source"] == "re-run").sum() == 4 and (cells["source"] == "quoted").sum() == 6


def test_table2_paper_scale_without_the_data_stops_before_any_job(tmp_path):
    workdir = make_working_copy(tmp_path / "artifact")
    result = snakemake(workdir, "-n", "--cores", "1", "--config", "scale=paper", "data_dir=nodata", "--",
                       TARGET)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Clothing1M not found in nodata/clothing1m/" in output
    assert "noisy_label_kv.txt" in output and "clean_test_key_list.txt" in output
    assert "request it from its authors" in output
