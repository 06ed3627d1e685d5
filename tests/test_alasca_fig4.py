"""Seed 002, Fig. 4's aggregator on a hand-made curves frame: panel (a) per-epoch F1 and its epoch summary,
panel (b) mean ± std over seeds of the final accuracy per hyperparameter value and its range."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from labelrepro.papers.alasca.figures import fig4_summary


def _rows(cell, point, seed, per_epoch):
    """Metric rows of one run seed: per_epoch = [(select_tp, select_n, select_clean, f1, acc), ...]."""
    rows = []
    for epoch, (tp, n, clean, f1, acc) in enumerate(per_epoch, start=1):
        rows.append({"cell": cell, **point, "seed": seed, "epoch": epoch, "select_tp": tp, "select_n": n,
                     "select_clean": clean, "select_f1": f1, "test_acc_avg": acc})
    return rows


def curves() -> pd.DataFrame:
    rows = []
    nan = math.nan
    # (a): Co-teaching, no swept key. base: seed-mean F1 per epoch (0.5, 0.6); alasca: (0.4, 0.8)
    a = {"noise": "symm80", "method": "coteaching"}
    sel = (0.2, 0.5, 0.3)  # select_tp, select_n, select_clean (per-sample fractions)
    for variant, seed, f1s in (("base", 0, (0.4, 0.5)), ("base", 1, (0.6, 0.7)),
                               ("alasca", 0, (0.3, 0.8)), ("alasca", 1, (0.5, 0.8))):
        rows += _rows(f"a-{variant}", {**a, "variant": variant}, seed, [(*sel, f1, 0.1) for f1 in f1s])
    # (b): Co-teaching's sweep at the (a) value (the same run as (a) in the real target): panel (b) only
    b_co = {**a, "variant": "base", "coteach_num_gradual": 30.0}
    rows += _rows("b-co", b_co, 0, [(0.3, 0.3, 0.3, 0.99, 0.2), (0.3, 0.3, 0.3, 0.99, 0.3)])
    # (b): Standard's weight decay, two seeds, the last epoch's test_acc_avg counts (epoch 1's is 0.9)
    for variant, wd, accs in (("base", 1e-4, (0.2, 0.3)), ("base", 1e-3, (0.4, 0.4)),
                              ("alasca", 1e-4, (0.5, 0.6)), ("alasca", 1e-3, (0.5, 0.5))):
        point = {"noise": "symm80", "method": "standard", "variant": variant, "weight_decay": wd}
        for seed, acc in enumerate(accs):
            rows += _rows(f"std-{variant}-{wd}", point, seed, [(nan, nan, nan, nan, 0.9),
                                                                (nan, nan, nan, nan, acc)])
    frame = pd.DataFrame(rows)
    return frame.drop(columns=[c for c in ("select_tp", "select_n", "select_clean", "select_f1")
                               if frame[c].isna().all()])


def test_panel_a_per_epoch_f1_and_summary():
    out = fig4_summary(curves())
    a = out[out["panel"] == "a"]
    assert len(a) == 8  # 2 variants x 2 seeds x 2 epochs; the (b) Co-teaching cell is not in (a)
    assert not (a["select_f1"] == 0.99).any()
    first = a[(a["variant"] == "base") & (a["seed"] == 0) & (a["epoch"] == 1)].iloc[0]
    assert first["select_f1"] == pytest.approx(0.4)
    assert first["select_precision"] == pytest.approx(0.4)  # TP / selected = 0.2 / 0.5
    assert first["select_recall"] == pytest.approx(2 / 3)  # TP / correctly labelled = 0.2 / 0.3
    assert set(a["dataset"]) == {"CIFAR-10"}
    summary = out[out["panel"] == "a_summary"].set_index("variant")
    assert summary.at["base", "select_f1"] == pytest.approx(0.55)  # mean of (0.5, 0.6)
    assert summary.at["base", "select_f1_last"] == pytest.approx(0.6)
    assert summary.at["alasca", "select_f1"] == pytest.approx(0.6)  # mean of (0.4, 0.8)
    assert summary.at["alasca", "select_f1_last"] == pytest.approx(0.8)
    assert summary.at["alasca", "frac_epochs_above_base"] == pytest.approx(0.5)  # 0.4 < 0.5, 0.8 > 0.6
    assert math.isnan(summary.at["base", "frac_epochs_above_base"])
    assert summary.at["alasca", "n_seeds"] == 2


def test_panel_b_mean_std_over_seeds_and_range():
    out = fig4_summary(curves())
    b = out[(out["panel"] == "b") & (out["method"] == "standard")].set_index(["variant", "value"])
    assert set(b["hyperparameter"]) == {"weight_decay"} and len(b) == 4
    assert b.at[("base", 1e-4), "test_acc_avg_mean"] == pytest.approx(0.25)
    assert b.at[("base", 1e-4), "test_acc_avg_std"] == pytest.approx(math.sqrt(2 * 0.05**2))  # ddof 1
    assert b.at[("base", 1e-3), "test_acc_avg_mean"] == pytest.approx(0.4)
    assert b.at[("base", 1e-3), "test_acc_avg_std"] == pytest.approx(0.0)
    assert b.at[("alasca", 1e-4), "test_acc_avg_mean"] == pytest.approx(0.55)
    assert b.at[("alasca", 1e-4), "n_seeds"] == 2
    co = out[(out["panel"] == "b") & (out["method"] == "coteaching")].iloc[0]
    assert co["value"] == 30 and co["test_acc_avg_mean"] == pytest.approx(0.3)  # one seed: std 0
    assert co["test_acc_avg_std"] == 0.0
    summary = out[(out["panel"] == "b_summary") & (out["method"] == "standard")].set_index("variant")
    assert summary.at["base", "test_acc_avg_mean"] == pytest.approx(0.325)
    assert summary.at["base", "test_acc_range"] == pytest.approx(0.15)
    assert summary.at["base", "test_acc_min"] == pytest.approx(0.25)
    assert summary.at["alasca", "test_acc_avg_mean"] == pytest.approx(0.525)
    assert summary.at["alasca", "test_acc_range"] == pytest.approx(0.05)
    assert summary.at["alasca", "n_values"] == 2


def test_the_reported_claims_read_the_aggregate():
    """The scorecard's selectors in paper/reported/alasca_fig4.yaml name columns the aggregate has."""
    from labelrepro.scorecard.reported import load_reported, reported_path
    from labelrepro.scorecard.verdict import measure

    out = fig4_summary(curves())
    reported = load_reported(reported_path("alasca_fig4"))
    for claim in reported.claims:
        for select in claim.values.values():
            measure(out, select)  # raises on a missing column
    f1 = next(c for c in reported.claims if c.id == "f1_higher_cifar10")
    assert measure(out, f1.values["alasca"])[0] == pytest.approx(0.6)
    flat = next(c for c in reported.claims if c.id == "standard_flatter")
    assert measure(out, flat.values["base"])[0] == pytest.approx(0.15)
