"""The ALASCA trainer's per-method objectives, settings checks, runs through the engine (rows, metadata,
resume), efficiency meter and table renderers."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from labelrepro.core.config import ConfigError, settings_from_dict
from labelrepro.core.efficiency import EfficiencyMeter
from labelrepro.data.fake import write_fake_cifar
from labelrepro.engine import loop
from labelrepro.engine.job import Job
from labelrepro.engine.runtime import Runtime
from labelrepro.papers.alasca import trainer
from labelrepro.papers.alasca.losses import EmaConfidence, smoothing_regulariser
from labelrepro.papers.alasca.methods import METHODS, table1_methods
from labelrepro.papers.alasca.render import (
    render_alasca_table3,
    render_alasca_table4,
    table3_ac_methods,
    table3_baselines,
    table3_cells,
    table4_cells,
    table4_rows,
)
from labelrepro.papers.alasca.trainer import Settings, build_network

SYMM50 = {"model": "symmetric", "rate": 0.5, "allow_true_class": True}
BASE = {"epochs": 1, "batch_size": 4, "lr": 0.1, "label_noise": SYMM50}


def make(**kw) -> Settings:
    return settings_from_dict(Settings, {**BASE, **kw}, "test")


MAIN = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
AC = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
Y = torch.tensor([0, 1])
IDX = torch.tensor([0, 1])


def ce_rows(logits: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, Y, reduction="none")


def objective(settings: Settings, *batch):
    """The settings' method's per-batch objective (labelrepro.papers.alasca.methods)."""
    return METHODS[settings.method].objective(settings, *batch)


def test_settings_reject_bad_config() -> None:
    with pytest.raises(ConfigError, match="label_noise"):
        make(method="standard", label_noise={"model": "symmetric"})  # no rate
    with pytest.raises(ConfigError, match="label_noise"):
        settings_from_dict(Settings, {"epochs": 1, "batch_size": 4, "lr": 0.1, "method": "standard"}, "test")
    with pytest.raises(ConfigError, match="is not one of"):
        make(method="alasca", ac_type="conv")
    with pytest.raises(ConfigError, match="har_stage1_epochs"):
        make(method="har", har_stage1_epochs=0)
    with pytest.raises(ConfigError, match="har_heldout_fraction"):
        make(method="har", har_heldout_fraction=1.0)
    with pytest.raises(ConfigError, match="is not one of"):
        make(method="cdr", cdr_ranking="per_layer")
    assert make(method="cdr").clip_rate() == 0.5  # τ defaults to the nominal noise rate
    assert make(method="cdr", cdr_clip_rate=0.2).clip_rate() == 0.2
    assert make(method="cdr", label_noise={"model": "asymmetric", "rate": 0.4}).clip_rate() == 0.4


def test_an_unknown_method_fails_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown ALASCA method 'alsca'") as error:
        make(method="alsca")
    assert "did you mean 'alasca'" in str(error.value)
    assert str(error.value).endswith("known: " + ", ".join(sorted(METHODS)))
    with pytest.raises(ValueError, match="known: alasca, als, als_ac"):  # also built directly
        Settings(method="ALASCA", label_noise=SYMM50, epochs=1, batch_size=4, lr=0.1)


def test_every_method_has_a_row_label_in_a_table(tmp_path: Path) -> None:
    """Each method of METHODS is a row (or, for ALASCA, a block of rows) of Table 1, 3 or 4, and its declared
    labels are the ones the rendered tables print."""
    in_tables = {m for _, m, _ in table4_rows()} | {m for _, m in table3_baselines()}
    in_tables |= set(table3_ac_methods()) | set(table1_methods())
    assert in_tables == set(METHODS)
    assert METHODS.in_order() == ["standard", "uls", "uls_ac", "als", "als_ac", "als_ema", "alasca", "har",
                                  "cdr", "gce", "sce", "elr", "coteaching", "crust", "fine"]
    assert [label for label, _, _ in table4_rows()] == [
        "ULS", r"\quad + AC", "ALS", r"\quad + AC", r"\quad + EMA", "ALASCA", "ALASCA*"]
    assert [label for label, _ in table3_baselines()] == ["Standard", "HAR", "CDR"]
    final = pd.DataFrame([{"method": m, "noise": "symm50", "seed": 0, "ac_type": "mlp", "ac_positions": "all",
                           "test_acc_avg": 0.5, "test_acc_ens_avg": 0.5, "peak_mem_mb": 1.0,
                           "train_time_s": 1.0, "cell": m} for m in METHODS])
    render_alasca_table3(final, final, tmp_path / "t3.tex", "smoke")
    render_alasca_table4(final, final, tmp_path / "t4.tex", "smoke")
    tex = (tmp_path / "t3.tex").read_text() + (tmp_path / "t4.tex").read_text()
    for name in METHODS:
        labels = METHODS[name].labels()
        assert labels or METHODS[name].table3_by_ac or name in table1_methods(), name  # Table 1 only
        for label in labels:
            assert f"\n{label} & " in tex, (name, label)
    assert "\nMLP* & 50.0 & -- & " in tex  # ALASCA's Table 3 rows: one per (AC architecture, position)


def test_method_declarations() -> None:
    assert {m for m in METHODS if METHODS[m].has_acs} == {"uls_ac", "als_ac", "alasca"}
    assert {m for m in METHODS if METHODS[m].uses_ema} == {"als_ema", "alasca"}
    assert make(method="har", har_stage1_epochs=3).has_acs is False and make(method="alasca").has_acs
    stage1 = {m: METHODS[m].stage1_epochs(make(method=m, har_stage1_epochs=3)) for m in METHODS}
    assert stage1 == {m: 3 if m == "har" else 0 for m in METHODS}


def test_uls_rows_by_hand() -> None:
    a = 0.3
    target = (1 - a) * F.one_hot(Y, 3) + a / 3
    uls = -(target * F.log_softmax(MAIN, 1)).sum(1).mean()
    loss, alpha = objective(make(method="uls", uls_alpha=a), MAIN, [], Y, IDX, None)
    assert alpha is None and loss.item() == pytest.approx(uls.item())
    # ULS + AC: CE on the main head, λ·ULS on the AC.
    loss, _ = objective(make(method="uls_ac", uls_alpha=a, lam=2.0), MAIN, [AC], Y, IDX, None)
    uls_ac = -(target * F.log_softmax(AC, 1)).sum(1).mean()
    assert loss.item() == pytest.approx(ce_rows(MAIN).mean().item() + 2.0 * uls_ac.item())


def test_als_rows_use_instantaneous_main_confidence() -> None:
    alpha = 1 - torch.softmax(MAIN, 1)[torch.arange(2), Y]
    eq2_main = ((1 - alpha) * ce_rows(MAIN) + alpha * smoothing_regulariser(MAIN)).mean()
    loss, got = objective(make(method="als", als_form="eq2"), MAIN, [], Y, IDX, None)
    assert torch.allclose(got, alpha) and loss.item() == pytest.approx(eq2_main.item())
    eq2_ac = ((1 - alpha) * ce_rows(AC) + alpha * smoothing_regulariser(AC)).mean()
    loss, _ = objective(make(method="als_ac", lam=2.0, als_form="eq2"), MAIN, [AC], Y, IDX, None)
    assert loss.item() == pytest.approx(ce_rows(MAIN).mean().item() + 2.0 * eq2_ac.item())
    # Default form (official): CE against 1 − α̃ on the label and α̃/(L − 1) on the two others.
    target = (1 - alpha)[:, None] * F.one_hot(Y, 3) + (alpha / 2)[:, None] * (1 - F.one_hot(Y, 3))
    official_ac = -(target * F.log_softmax(AC, 1)).sum(1).mean()
    loss, _ = objective(make(method="als_ac", lam=2.0), MAIN, [AC], Y, IDX, None)
    assert loss.item() == pytest.approx(ce_rows(MAIN).mean().item() + 2.0 * official_ac.item())


def test_ema_rows_update_then_sharpen() -> None:
    ema = EmaConfidence(2, 3, beta=0.7, tau=1 / 3)
    loss, alpha = objective(make(method="alasca", lam=2.0, als_form="eq2"), MAIN, [AC], Y, IDX, ema)
    t = 0.3 * MAIN  # first visit: t = (1 − β)·f
    expected_alpha = 1 - torch.softmax(t * 3, 1)[torch.arange(2), Y]
    assert torch.allclose(alpha, expected_alpha)
    eq2_ac = ((1 - expected_alpha) * ce_rows(AC) + expected_alpha * smoothing_regulariser(AC)).mean()
    assert loss.item() == pytest.approx(ce_rows(MAIN).mean().item() + 2.0 * eq2_ac.item(), rel=1e-5)
    ema2 = EmaConfidence(2, 3, beta=0.7, tau=1 / 3)
    loss, alpha = objective(make(method="als_ema", als_form="eq2"), MAIN, [], Y, IDX, ema2)
    assert torch.allclose(alpha, expected_alpha)
    eq2_main = ((1 - alpha) * ce_rows(MAIN) + alpha * smoothing_regulariser(MAIN)).mean()
    assert loss.item() == pytest.approx(eq2_main.item(), rel=1e-5)


def test_network_heads_per_method() -> None:
    x = torch.randn(2, 3, 32, 32)
    for method, positions, n_acs in (("standard", "all", 0), ("alasca", "third", 1), ("uls_ac", "all", 3)):
        net = build_network(make(method=method, base_width=4, ac_positions=positions), 10, seed=0)
        main, acs, feats = net(x)
        assert main.shape == (2, 10) and len(acs) == n_acs and len(feats) == 4
    a = build_network(make(method="standard", base_width=4), 10, seed=3)
    b = build_network(make(method="alasca", base_width=4), 10, seed=3)
    assert torch.equal(a.backbone.conv1.weight, b.backbone.conv1.weight)  # same start for every method


RUN_SETTINGS = {"epochs": 2, "batch_size": 16, "lr": 0.05, "base_width": 4, "eval_batch_size": 16,
                "schedule": "cosine", "augment": {"crop_padding": 4, "hflip": True}, "label_noise": SYMM50,
                "har_stage1_epochs": 1, "report_last_epochs": 2}
TIMING = ["epoch_time_s", "train_time_s", "peak_mem_mb"]  # wall clock and RSS: differ between runs


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cifar")
    write_fake_cifar(root, "cifar10", 64, 32, seed=0)
    return root


def make_job(tmp: Path, data_dir: Path, **settings) -> Job:
    spec = {"trainer": "alasca", "scale": "smoke", "settings": {**RUN_SETTINGS, **settings}, "seeds": [0],
            "inputs": {}}
    runtime = Runtime(device="cpu", data_dir=str(data_dir), download=False, verify_data=False,
                      checkpoint_dir=str(tmp / "ckpt"), checkpoint_every_s=0.0, progress="none")
    return Job(spec=spec, runtime=runtime, out_dir=tmp / "out")


def test_alasca_run_writes_rows_and_metadata(tmp_path: Path, data_dir: Path) -> None:
    loop.train(make_job(tmp_path, data_dir, method="alasca", ac_positions="third"))
    rows = pd.read_csv(tmp_path / "out/seed-0/metrics.csv")
    assert rows["epoch"].tolist() == [1, 2] and rows["stage"].tolist() == [0, 0]
    for column in ("train_acc_noisy", "test_acc", "test_acc_ens", "test_acc_ac1", "alpha_clean",
                   "alpha_noisy"):
        assert rows[column].between(0, 1).all(), column
    assert rows["test_acc_avg"].iloc[-1] == pytest.approx(rows["test_acc"].mean())  # last 2 epochs
    assert rows["train_time_s"].iloc[-1] == pytest.approx(rows["epoch_time_s"].sum())
    assert rows["lr"].iloc[-1] == 0.0  # cosine ends at 0
    meta = json.loads((tmp_path / "out/seed-0/meta.json").read_text())
    found = {**meta, **meta.get("extra", {})}
    assert found["train_size"] == 64 and found["test_size"] == 32
    assert 0 < found["realised_noise_rate"] < 1
    assert found["efficiency_device"] == "cpu" and found["memory_measure"] == "cpu peak RSS"
    assert found["precision"] == "fp32"  # the same for every method of a device (bf16 autocast on CUDA)
    assert not list((tmp_path / "ckpt").rglob("*.pt"))  # the checkpoint is cleared


def test_har_runs_both_stages_in_one_run(tmp_path: Path, data_dir: Path) -> None:
    loop.train(make_job(tmp_path, data_dir, method="har"))
    rows = pd.read_csv(tmp_path / "out/seed-0/metrics.csv")
    assert rows["epoch"].tolist() == [1, 2, 3] and rows["stage"].tolist() == [1, 2, 2]
    assert math.isnan(rows["har_penalty"].iloc[0]) and (rows["har_penalty"].iloc[1:] > 0).all()
    assert rows["test_acc_avg"].iloc[0] == rows["test_acc"].iloc[0]  # running means within a stage
    assert rows["test_acc_avg"].iloc[2] == pytest.approx(rows["test_acc"].iloc[1:].mean())
    assert rows["test_acc_ens"].isna().all()  # no ACs
    meta = json.loads((tmp_path / "out/seed-0/meta.json").read_text())
    # weight_est.py: err^0.6 / count^0.4, the largest = 1
    strengths = {**meta, **meta.get("extra", {})}["har_class_strengths"]
    assert len(strengths) == 10 and max(strengths) == pytest.approx(1.0) and min(strengths) >= 0


@pytest.mark.parametrize(("method", "die_at"), [("har", 2), ("har", 3), ("alasca", 2), ("cdr", 2)])
def test_a_killed_run_resumes_with_identical_numbers(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, method: str, die_at: int
) -> None:
    """Killed in epoch `die_at`: HAR at the stage boundary (2) and inside stage 2 (3), EMA and CDR runs."""
    loop.train(make_job(tmp_path / "straight", data_dir, method=method))
    real = trainer.evaluate
    calls = {"n": 0, "die_at": die_at}

    def evaluate_or_die(*args):
        calls["n"] += 1
        if calls["n"] == calls["die_at"]:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(trainer, "evaluate", evaluate_or_die)
    with pytest.raises(KeyboardInterrupt):
        loop.train(make_job(tmp_path / "killed", data_dir, method=method))
    assert not (tmp_path / "killed/out").exists()
    calls.update(n=0, die_at=-1)
    loop.train(make_job(tmp_path / "killed", data_dir, method=method))
    total = 3 if method == "har" else 2
    assert calls["n"] == total - (die_at - 1)  # only the lost epochs are trained again
    straight, resumed = (
        pd.read_csv(tmp_path / run / "out/seed-0/metrics.csv").drop(columns=TIMING)
        for run in ("straight", "killed")
    )
    pd.testing.assert_frame_equal(straight, resumed, check_exact=True)


METER_SCRIPT = """
import torch
from labelrepro.core.efficiency import EfficiencyMeter
meter = EfficiencyMeter(torch.device("cpu"))
meter.start()
block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
meter.sample()
seconds = meter.stop()
print(seconds, meter.peak_memory_mb())
"""


def test_efficiency_meter_counts_cpu_allocations() -> None:
    # A fresh process: in the test session, pages freed by earlier tests stay resident and a new tensor
    # can reuse them without the resident set growing (the meter would rightly see no new memory).
    out = subprocess.run([sys.executable, "-c", METER_SCRIPT], capture_output=True, text=True, check=True)
    seconds, peak_mb = map(float, out.stdout.split())
    assert seconds >= 0 and peak_mb >= 32
    meter = EfficiencyMeter(torch.device("cpu"))
    with pytest.raises(RuntimeError):
        meter.stop()


def _final_table3() -> pd.DataFrame:
    rows = []
    for noise in ("symm50", "inst40"):
        for seed in (0, 1):
            rows.append({"method": "standard", "noise": noise, "seed": seed, "test_acc_avg": 0.5 + 0.1 * seed,
                         "peak_mem_mb": 100.0, "train_time_s": 10.0, "cell": f"s{noise}"})
            rows.append({"method": "har", "noise": noise, "seed": seed, "test_acc_avg": 0.6,
                         "peak_mem_mb": 200.0, "train_time_s": 50.0 + seed * 10, "cell": f"h{noise}"})
            rows.append({"method": "alasca", "ac_type": "mlp", "ac_positions": "all", "noise": noise,
                         "seed": seed, "test_acc_avg": 0.7, "peak_mem_mb": 130.0, "train_time_s": 12.0,
                         "cell": f"a{noise}"})
    return pd.DataFrame(rows)


def test_table3_ratios_and_accuracy(tmp_path) -> None:
    final = _final_table3()
    cells = table3_cells(final).set_index("row")
    assert cells.at["Standard", "symm50_mean"] == pytest.approx(55.0)
    assert cells.at["Standard", "symm50_std"] == pytest.approx(math.sqrt(50.0))
    assert cells.at["HAR", "memory_ratio"] == pytest.approx(2.0)
    assert cells.at["HAR", "time_ratio"] == pytest.approx(5.5)  # mean of 5 and 6
    assert cells.at["MLP*", "time_ratio"] == pytest.approx(1.2)
    assert cells.at["CDR", "symm50_n"] == 0 and math.isnan(cells.at["CDR", "time_ratio"])
    returned = render_alasca_table3(final, final, tmp_path / "t3.tex", "paper")
    tex = (tmp_path / "t3.tex").read_text()
    assert r"HAR & 60.0 $\pm$ 0.0 & 60.0 $\pm$ 0.0 & $\times$ 2.0 & $\times$ 5.5 \\" in tex
    assert r"CDR & -- & -- & -- & -- \\" in tex and "SMOKE" not in tex
    assert returned.set_index("row").at["HAR", "time_ratio"] == pytest.approx(5.5)  # cells for the .csv


def test_table4_rows(tmp_path) -> None:
    final = pd.DataFrame([
        {"method": "alasca", "noise": "asym40", "seed": s, "test_acc_avg": 0.8, "test_acc_ens_avg": 0.9,
         "cell": "a"} for s in (0, 1, 2)
    ] + [{"method": "uls", "noise": "symm50", "seed": 0, "test_acc_avg": 0.4, "test_acc_ens_avg": math.nan,
          "cell": "u"}])
    cells = table4_cells(final)
    star = cells[(cells["row"] == "ALASCA*") & (cells["noise"] == "asym40")].iloc[0]
    assert star["mean"] == pytest.approx(90.0) and star["n"] == 3
    render_alasca_table4(final, final, tmp_path / "t4.tex", "smoke")
    tex = (tmp_path / "t4.tex").read_text()
    assert r"ALASCA* & -- & 90.0 $\pm$ 0.0 & -- \\" in tex
    assert r"ULS & 40.0 & -- & -- \\" in tex and "SMOKE SCALE" in tex
