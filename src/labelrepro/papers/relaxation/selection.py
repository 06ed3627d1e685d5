"""Aggregation of seed 004's runs: the validation-based choice of each loss's strength (a DAG step).

The authors' `lr_study_ho.py` runs, per seed, every candidate strength on the training part minus a
25% validation part, keeps the one with the best final validation accuracy (ties: the first, i.e. the
smallest), then trains that strength again on the whole training part and reports its test accuracy
and ECE. Here both phases are runs of the workflow (`phase: select` and `phase: final`, every strength
in both), so the choice reads only `select` rows and the reported numbers only `final` rows; the
test part never enters the choice.

`relax_selection` -> one row per (dataset, model, method, seed): the chosen strength and its final
run's test metrics (mean ± std over seeds is the renderer's). `relax_reliability` -> the reliability
bins of those runs, pooled over seeds: one row per (dataset, model, method, bin).
"""

from __future__ import annotations

import re

import pandas as pd

from labelrepro.registry import AGGREGATORS

KEYS = ("dataset", "model", "method")
BIN_COLUMN = re.compile(r"^rel_(count|conf|correct)_(\d+)$")


@AGGREGATORS.register("relax_points")
def relax_points(curves: pd.DataFrame) -> pd.DataFrame:
    """The simplex figure's rows as they are (nothing to aggregate)."""
    return curves.reset_index(drop=True)


def last_epochs(curves: pd.DataFrame) -> pd.DataFrame:
    """The final-epoch row of every network (dataset, model, phase, method, strength, seed)."""
    missing = [k for k in ("dataset", "phase", "model", "method", "strength", "seed", "epoch", "acc", "ece")
               if k not in curves]
    if missing:
        raise ValueError(f"relax_selection needs columns {missing} in curves.csv (grid keys or metrics; "
                         "the grid must name dataset, model and phase)")
    ids = ["dataset", "model", "phase", "method", "strength", "seed"]
    return curves.sort_values("epoch", kind="stable").groupby(ids, sort=False).tail(1)


@AGGREGATORS.register("relax_selection")
def relax_selection(curves: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, model, method, seed): the strength chosen on validation and its test metrics."""
    last = last_epochs(curves)
    select = last[last["phase"] == "select"].sort_values("strength", kind="stable")
    final = last[last["phase"] == "final"]
    for what, part in (("select", select), ("final", final)):
        if part.empty:
            raise ValueError(f"relax_selection: no `phase: {what}` runs in curves.csv; the target's grid "
                             "must list phase: [select, final]")
    group = [*KEYS, "seed"]
    # idxmax keeps the first maximum: the smallest strength among ties (strengths sorted above)
    chosen = select.loc[select.groupby(group, sort=False)["acc"].idxmax()]
    chosen = chosen[[*group, "strength", "acc", "ece"]].rename(columns={"acc": "val_acc", "ece": "val_ece"})
    table = chosen.merge(final, on=[*group, "strength"], how="left", validate="one_to_one",
                         indicator=True)
    absent = table[table["_merge"] != "both"]
    if not absent.empty:
        row = absent.iloc[0]
        raise ValueError(f"relax_selection: no final run for {dict(row[[*group, 'strength']])}; the final "
                         "phase must train every strength the select phase does")
    table = table.rename(columns={"acc": "test_acc", "ece": "test_ece", "nll": "test_nll"})
    keep = [*group, "strength", "val_acc", "val_ece", "test_acc", "test_ece", "test_nll", "epoch"]
    bins = [c for c in table.columns if BIN_COLUMN.match(c)]
    order = {m: i for i, m in enumerate(dict.fromkeys(curves["method"]))}
    table = table[[c for c in keep if c in table] + bins]
    table = table.assign(_order=table["method"].map(order))
    table = table.sort_values(["dataset", "model", "_order", "seed"]).drop(columns="_order")
    return table.reset_index(drop=True)


@AGGREGATORS.register("relax_reliability")
def relax_reliability(curves: pd.DataFrame) -> pd.DataFrame:
    """Reliability bins of the selected final runs, pooled over seeds (counts and sums added up)."""
    selected = relax_selection(curves)
    bins = sorted({int(m.group(2)) for c in selected.columns if (m := BIN_COLUMN.match(c))})
    if not bins:
        raise ValueError("relax_reliability: the runs recorded no reliability bins (rel_count_<k> columns)")
    rows = []
    for key, runs in selected.groupby(list(KEYS), sort=False):
        for k in bins:
            count = runs[f"rel_count_{k}"].sum()
            rows.append({
                **dict(zip(KEYS, key, strict=True)),
                "bin": k,
                "lower": k / len(bins),
                "upper": (k + 1) / len(bins),
                "count": int(count),
                "confidence": runs[f"rel_conf_{k}"].sum() / count if count else float("nan"),
                "accuracy": runs[f"rel_correct_{k}"].sum() / count if count else float("nan"),
                "seeds": runs["seed"].nunique(),
                "test_ece_mean": runs["test_ece"].mean(),
            })
    return pd.DataFrame(rows)
