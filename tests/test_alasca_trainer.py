"""The ALASCA trainer's per-method objectives, settings checks, efficiency meter and table renderers."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from labelrepro.config import ConfigError, settings_from_dict
from labelrepro.core.efficiency import EfficiencyMeter
from labelrepro.losses.alasca import EmaConfidence, smoothing_regulariser
from labelrepro.render.alasca_tables import (
    render_alasca_table3,
    render_alasca_table4,
    table3_cells,
    table4_cells,
)
from labelrepro.trainers.alasca import Settings, build_network, objective

NOISE = {"symm50": {"model": "symmetric", "rate": 0.5, "allow_true_class": True}}
BASE = {"epochs": 1, "batch_size": 4, "lr": 0.1, "noise": "symm50", "noise_models": NOISE}


def make(**kw) -> Settings:
    return settings_from_dict(Settings, {**BASE, **kw}, "test")


MAIN = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
AC = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
Y = torch.tensor([0, 1])
IDX = torch.tensor([0, 1])


def ce_rows(logits: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, Y, reduction="none")


def test_settings_reject_bad_config() -> None:
    with pytest.raises(ConfigError, match="noise_models"):
        make(method="standard", noise="asym40")
    with pytest.raises(ConfigError, match="is not one of"):
        make(method="alasca", ac_type="conv")
    with pytest.raises(ConfigError, match="har_stage1_epochs"):
        make(method="har", har_stage1_epochs=0)
    with pytest.raises(ConfigError, match=r"noise_models\.bad"):
        make(method="standard", noise_models={**NOISE, "bad": {"model": "symmetric"}})
    assert make(method="cdr").clip_rate() == 0.5  # τ defaults to the nominal noise rate
    assert make(method="cdr", cdr_clip_rate=0.2).clip_rate() == 0.2


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
    loss, got = objective(make(method="als"), MAIN, [], Y, IDX, None)
    assert torch.allclose(got, alpha) and loss.item() == pytest.approx(eq2_main.item())
    eq2_ac = ((1 - alpha) * ce_rows(AC) + alpha * smoothing_regulariser(AC)).mean()
    loss, _ = objective(make(method="als_ac", lam=2.0), MAIN, [AC], Y, IDX, None)
    assert loss.item() == pytest.approx(ce_rows(MAIN).mean().item() + 2.0 * eq2_ac.item())


def test_ema_rows_update_then_sharpen() -> None:
    ema = EmaConfidence(2, 3, beta=0.7, tau=1 / 3)
    loss, alpha = objective(make(method="alasca", lam=2.0), MAIN, [AC], Y, IDX, ema)
    t = 0.3 * MAIN  # first visit: t = (1 − β)·f
    expected_alpha = 1 - torch.softmax(t * 3, 1)[torch.arange(2), Y]
    assert torch.allclose(alpha, expected_alpha)
    eq2_ac = ((1 - expected_alpha) * ce_rows(AC) + expected_alpha * smoothing_regulariser(AC)).mean()
    assert loss.item() == pytest.approx(ce_rows(MAIN).mean().item() + 2.0 * eq2_ac.item(), rel=1e-5)
    ema2 = EmaConfidence(2, 3, beta=0.7, tau=1 / 3)
    loss, alpha = objective(make(method="als_ema"), MAIN, [], Y, IDX, ema2)
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


def test_efficiency_meter_counts_cpu_allocations() -> None:
    meter = EfficiencyMeter(torch.device("cpu"))
    meter.start()
    block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
    meter.sample()
    seconds = meter.stop()
    assert seconds >= 0 and meter.peak_memory_mb() >= 32
    del block
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
