"""A verdict per reported number and claim of one target, from its aggregate CSV.

- *reproduced*: a number lies within k·σ of the paper's (σ² = the paper's ± squared plus the std over
  this artifact's runs squared); a claim's `holds` expression is true.
- *direction holds*: the number is off, but the comparison the paper draws with it (`direction_vs`)
  points the same way here.
- *not reproduced*: neither.
- *not comparable*: smoke scale, stand-in data, a cell this scale's grid lacks, or a reading that differs
  from the paper's (the entry's `not_comparable`, pointing at docs/decisions.md). The face-value check
  is still computed (column `at_face_value`), so a smoke build exercises every comparison.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from labelrepro.scorecard.reported import Claim, Number, Reported, Selector, evaluate

VERDICTS = ("reproduced", "direction holds", "not reproduced", "not comparable")
COLUMNS = ["target", "kind", "id", "where", "statement", "reported", "reported_err", "measured",
           "measured_std", "n_rows", "k", "at_face_value", "verdict", "reason"]


def _matches(frame: pd.DataFrame, rows: dict[str, Any]) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in rows.items():
        if column not in frame.columns:
            raise KeyError(f"aggregate has no column {column!r} (columns: {', '.join(frame.columns)})")
        col = frame[column]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            mask &= col.astype(str) == str(value)
        else:
            mask &= pd.to_numeric(col, errors="coerce").sub(float(value)).abs() < 1e-9
    return mask


def measure(frame: pd.DataFrame, select: Selector) -> tuple[float, float, int]:
    """(mean, std over rows (0 for one row), number of rows) of `select.metric` over the matching rows."""
    if select.metric not in frame.columns:
        raise KeyError(f"aggregate has no column {select.metric!r} (columns: {', '.join(frame.columns)})")
    values = pd.to_numeric(frame.loc[_matches(frame, select.rows), select.metric], errors="coerce").dropna()
    if values.empty:
        return math.nan, math.nan, 0
    if select.std is not None:
        spread = pd.to_numeric(frame.loc[values.index, select.std], errors="coerce").fillna(0.0)
        return float(values.mean()), float(spread.mean()), len(values)
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return float(values.mean()), std, len(values)


def comparability(scale: str, data: str) -> str | None:
    """Why a whole target cannot be compared with its paper, or None when it can."""
    if scale != "paper":
        return f"{scale} scale (the papers' settings are scale=paper)"
    if data == "standin":
        return "stand-in data (smoke_data=standin)"
    return None


def _number_row(number: Number, measured: dict[str, tuple[float, float, int]], numbers: dict[str, Number],
                k: float) -> dict[str, Any]:
    mean, std, n = measured[number.id]
    value, err = mean * number.scale, std * number.scale
    row = {"kind": "number", "id": number.id, "where": number.where, "statement": "",
           "reported": number.value, "reported_err": number.err, "measured": value, "measured_std": err,
           "n_rows": n, "k": k}
    if n == 0:
        return {**row, "at_face_value": "", "reason": "no aggregate rows match (not in this scale's grid)"}
    sigma = math.hypot(number.err or 0.0, err)
    if abs(value - number.value) <= k * sigma:
        face = "reproduced"
    else:
        face = "not reproduced"
        other = numbers.get(number.direction_vs) if number.direction_vs else None
        if other is not None and measured[other.id][2] > 0:
            here = value - measured[other.id][0] * other.scale
            there = number.value - other.value
            if here * there > 0:
                face = "direction holds"
    return {**row, "at_face_value": face, "reason": ""}


def _claim_row(claim: Claim, frame: pd.DataFrame, k: float) -> dict[str, Any]:
    values = {name: measure(frame, select) for name, select in claim.values.items()}
    row = {"kind": "claim", "id": claim.id, "where": claim.where, "statement": claim.statement,
           "reported": None, "reported_err": None, "measured": None, "measured_std": None,
           "n_rows": min(v[2] for v in values.values()), "k": k}
    missing = [name for name, v in values.items() if v[2] == 0]
    if missing:
        return {**row, "at_face_value": "", "reason": f"no aggregate rows for {', '.join(missing)}"}
    holds = evaluate(claim.holds, {name: v[0] for name, v in values.items()})
    detail = ", ".join(f"{name}={v[0]:.4g}" for name, v in values.items())
    return {**row, "at_face_value": "reproduced" if holds else "not reproduced",
            "reason": f"{claim.holds} with {detail}"}


def score(reported: Reported, aggregate: pd.DataFrame, scale: str, data: str, k: float = 2.0) -> pd.DataFrame:
    """The scorecard rows of one target (COLUMNS), one per reported number and claim."""
    whole = comparability(scale, data)
    numbers = {n.id: n for n in reported.numbers}
    measured = {n.id: measure(aggregate, n.select) for n in reported.numbers}
    rows = []
    for number in reported.numbers:
        rows.append((_number_row(number, measured, numbers, k), number.not_comparable))
    for claim in reported.claims:
        rows.append((_claim_row(claim, aggregate, k), claim.not_comparable))
    out = []
    for row, own in rows:
        comparable = not (whole or own) and bool(row["at_face_value"])
        verdict = row["at_face_value"] if comparable else "not comparable"
        reason = "; ".join(r for r in (whole, own, row["reason"]) if r)
        out.append({"target": reported.target, **row, "verdict": verdict, "reason": reason})
    return pd.DataFrame(out, columns=COLUMNS)
