"""The experiment model beyond single files: inheritance, presets, runs shared between targets, packed
jobs, the catalogue, and the run-time options' single source of truth."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
import yaml

from labelrepro.core.config import ConfigError
from labelrepro.engine.runtime import RUNTIME_KEYS, Runtime
from labelrepro.experiment import Plan, canonical_settings, load_experiments

BASE = {
    "paper": "003 Cornacchia et al.", "element": "Fig. 1", "kind": "figure", "trainer": "sparsity",
    "aggregate": "final_per_run", "render": "sparsity_fig1", "batch_seeds": True,
    "settings": {"eps": 0.3, "d": 4, "hidden": 8, "n_train": 8, "n_test": 8, "lr": 0.1, "steps": 10,
                 "eval_every": 5},
    "grid": {"label_noise": [0.0, 0.2]},
    "cost": {"smoke_runtime": "1 s", "paper_cost": "1 s"},
    "scales": {"smoke": {"seeds": 2, "resources": {"runtime": 1, "mem_mb": 100}},
               "paper": {"seeds": 3, "resources": {"runtime": 1, "mem_mb": 100}}},
}


def write(directory, name, content):
    (directory / f"{name}.yaml").write_text(yaml.safe_dump(content))


def test_extends_merges_mappings_and_replaces_the_rest(tmp_path):
    write(tmp_path, "_base", BASE)
    write(tmp_path, "child", {"extends": "_base", "settings": {"lr": 0.2}, "grid": {"label_noise": [0.5]},
                              "scales": {"smoke": {"seeds": 1}}})
    experiments = load_experiments(tmp_path)
    assert list(experiments) == ["child"]  # `_` files are bases, not targets
    child = experiments["child"]
    assert child.settings["lr"] == 0.2 and child.settings["eps"] == 0.3  # merged key by key
    assert list(child.cells("smoke")) == ["label_noise-0.5"]  # the grid was replaced
    assert child.seeds("smoke") == (0,) and child.resources("smoke")["runtime"] == 1


def test_extends_errors_name_the_file(tmp_path):
    write(tmp_path, "a", {**BASE, "extends": "missing"})
    with pytest.raises(ConfigError, match=r"a\.yaml: 'extends: missing' names no experiment file"):
        load_experiments(tmp_path)
    write(tmp_path, "a", {"extends": "b"})
    write(tmp_path, "b", {"extends": "a"})
    with pytest.raises(ConfigError, match="makes a cycle"):
        load_experiments(tmp_path)


def test_typo_in_an_inherited_setting_is_still_named(tmp_path):
    write(tmp_path, "_base", BASE)
    write(tmp_path, "child", {"extends": "_base", "settings": {"stepz": 3}})
    with pytest.raises(ConfigError, match=r"child\.yaml.*unknown setting 'stepz' \(did you mean 'steps'\?\)"):
        load_experiments(tmp_path)


def test_presets_expand_into_settings_and_unknown_names_fail(tmp_path):
    raw = {**BASE, "presets": {"noise": {"low": {"label_noise": 0.1}, "high": {"label_noise": 0.4}}},
           "grid": {"noise": ["low", "high"]}}
    write(tmp_path, "t", raw)
    cells = load_experiments(tmp_path)["t"].cells("smoke")
    assert set(cells) == {"noise-low", "noise-high"}
    assert cells["noise-high"].settings["label_noise"] == 0.4 and "noise" not in cells["noise-high"].settings
    assert cells["noise-high"].point == {"noise": "high"}  # the name stays for columns and cell names
    write(tmp_path, "t", {**raw, "grid": {"noise": ["medium"]}})
    with pytest.raises(ConfigError, match="noise: 'medium' names no preset; known noise presets: high, low"):
        load_experiments(tmp_path)


def test_defaults_spelled_out_or_left_out_give_the_same_run():
    _, implicit = canonical_settings("sparsity", dict(BASE["settings"]), "x")
    _, explicit = canonical_settings("sparsity", {**BASE["settings"], "bias": True, "noise_mode": "resample"},
                                     "x")
    assert implicit == explicit and "bias" not in implicit
    _, other = canonical_settings("sparsity", {**BASE["settings"], "bias": False}, "x")
    assert other["bias"] is False


def test_identical_cells_of_two_targets_are_one_run(tmp_path):
    write(tmp_path, "one", BASE)
    write(tmp_path, "two", {**BASE, "grid": {"label_noise": [0.2, 0.4]}})
    plan = Plan(load_experiments(tmp_path))
    runs = plan.runs("smoke")
    assert len(runs) == 3  # 0.0, 0.2 (shared), 0.4
    shared = plan.experiments["one"].cells("smoke")["label_noise-0.2"].run
    assert shared == plan.experiments["two"].cells("smoke")["label_noise-0.2"].run
    assert shared.dir.startswith("results/runs/smoke/sparsity/")
    assert len(plan.jobs("smoke")) == 3


def test_runs_per_job_packs_runs(tmp_path):
    raw = {**BASE, "grid": {"label_noise": [0.0, 0.1, 0.2]}}
    raw["scales"] = {**BASE["scales"], "smoke": {**BASE["scales"]["smoke"], "runs_per_job": 2}}
    write(tmp_path, "t", raw)
    plan = Plan(load_experiments(tmp_path))
    jobs = plan.jobs("smoke")
    assert [len(job.runs) for job in jobs.values()] == [2, 1]
    assert [job.packed for job in jobs.values()] == [True, False]
    assert plan.resources("smoke", plan.packed_jobs("smoke")[0])["runtime"] == 2  # summed
    assert all(not job.packed for job in plan.jobs("paper").values())


def test_the_two_alasca_tables_share_their_alasca_runs():
    """alasca_table3's ALASCA* rows (bottleneck ACs after all blocks) are alasca_table4's ALASCA rows."""
    plan = Plan(load_experiments())
    t3 = {c.run.id for c in plan.experiments["alasca_table3"].cells("paper").values()}
    t4 = {c.run.id for c in plan.experiments["alasca_table4"].cells("paper").values()}
    assert len(t3) == 54 and len(t4) == 54 and len(t3 & t4) == 6  # 2 noises x 3 seeds
    t1 = {c.run.id for c in plan.experiments["alasca_table1"].cells("paper").values()}
    # Table 1's Standard (base) runs on symm50 / inst40 are Table 3's Standard runs: 2 noises x 3 seeds
    assert len(t1) == 336 and len(t1 & t3) == 6 and not t1 & t4
    assert len(t3 | t4) == 102  # the two tables' distinct runs (the figures' runs are their own)


def test_alasca_fig4_reuses_table1_runs():
    """Fig. 4's cells at Table 1's settings (panel (a), each sweep's default value) are Table 1's runs."""
    plan = Plan(load_experiments())
    fig4, table1 = plan.experiments["alasca_fig4"], plan.experiments["alasca_table1"]
    f4 = {c.run.id for c in fig4.cells("paper").values()}
    t1 = {c.run.id for c in table1.cells("paper").values()}
    # (a) 2 datasets x 2 variants, (b) 4 methods x 4 values x 2 variants (Co-teaching's 30 = (a)), x 3 seeds;
    # shared: (a)'s 4 points and the 6 default points of Standard, ELR and CRUST
    assert len(f4) == 102 and len(f4 & t1) == 30
    for noise in ("symm80", "c100-symm80"):
        for variant in ("base", "alasca"):
            name = f"noise-{noise}_method-coteaching_variant-{variant}_seed-0"
            assert fig4.cells("paper")[name].run == table1.cells("paper")[name].run
    assert len({c.run.id for c in fig4.cells("smoke").values()}) == 18


def test_alasca_table2_runs_are_its_own_and_leave_cifar_runs_unchanged():
    """Table 2's 4 Clothing1M runs (Standard, Co-teaching, each ± ALASCA) share nothing with the CIFAR
    tables, whose canonical settings carry none of the Clothing1M keys (defaults drop: same run ids)."""
    plan = Plan(load_experiments())
    t2 = plan.experiments["alasca_table2"].cells("paper")
    assert len({c.run.id for c in t2.values()}) == 4
    assert {c.run.settings["dataset"] for c in t2.values()} == {"clothing1m"}
    new_keys = {"backbone", "pretrained", "image_size", "clothing_epoch_samples", "alasca_confidence"}
    for name, exp in plan.experiments.items():
        if name != "alasca_table2" and exp.trainer == "alasca":
            for cell in exp.cells("paper").values():
                assert not new_keys & set(cell.run.settings), (name, cell.name)


def test_every_experiment_is_in_the_catalogue(repo_root):
    catalogue = yaml.safe_load((repo_root / "workflow/catalogue.yaml").read_text())
    for exp in load_experiments().values():
        kind = "figures" if exp.kind == "figure" else "tables"
        assert exp.name in catalogue[kind][exp.paper[:3]], exp.name
        assert exp.source.split("/")[0] in {"random_labels", "limit", "alasca", "sparsity", "relaxation"}


def test_runtime_options_have_one_source_of_truth(repo_root):
    """The Runtime dataclass, the config file and its schema name the same keys with the same defaults."""
    config = yaml.safe_load((repo_root / "workflow/config/config.yaml").read_text())
    schema = yaml.safe_load((repo_root / "workflow/schemas/config.schema.yaml").read_text())
    defaults = {f.name: f.default for f in dataclasses.fields(Runtime)}
    assert {key: config[key] for key in RUNTIME_KEYS} == defaults
    assert set(RUNTIME_KEYS) <= set(schema["properties"])


def test_reading_every_experiment_imports_no_torch_or_matplotlib(repo_root):
    code = ("import sys; from labelrepro.experiment import Plan, load_experiments; "
            "p = Plan(load_experiments()); p.jobs('smoke'); p.jobs('paper'); "
            "print(sorted(m for m in ('torch', 'torchvision', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=repo_root).stdout
    assert out.strip() == "[]"
