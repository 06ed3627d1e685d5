"""The scorecard's pieces with hand-made inputs: the seed check, `holds`, verdicts and the roll-up."""

from __future__ import annotations

import math
import textwrap

import pandas as pd
import pytest
import yaml

from labelrepro.core.config import ConfigError
from labelrepro.scorecard.reported import (
    TableCell,
    check_against_seed,
    evaluate,
    load_reported,
    parse_value_err,
    table_field,
)
from labelrepro.scorecard.summary import counts, per_paper, to_latex, to_markdown, update_readme
from labelrepro.scorecard.verdict import score

SEED = textwrap.dedent("""\
    Intro. Without noise the test error is 49% and with noise it drops to 21%.

    Method\tp = 0.0\tp = 0.5
    CE\t94.3 ± 0.5\t71.8 ± 4.3
    + AC\t80.0 ± 1.0\t60.0 ± 2.0
    LIMIT\t$\\textbf{95.6} \\pm \\textbf{0.3}$\t82.8 ± 4.6
    + AC\t85.0 ± 1.0\t65.0 ± 2.0

    Table 1: a table.
    """)


def _write(tmp_path, doc):
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _doc(**extra):
    doc = {
        "target": "t", "seed": "s.txt",
        "numbers": [
            {"id": "ce0", "where": "Table 1", "table": {"header": "Method p = 0.0 p = 0.5", "row": "CE",
                                                        "column": 1},
             "value": 94.3, "err": 0.5, "rows": {"method": "ce", "p": 0.0}, "metric": "acc", "scale": 100},
            {"id": "limit0", "where": "Table 1", "table": {"header": "Method p = 0.0 p = 0.5", "row": "LIMIT",
                                                           "column": 1},
             "value": 95.6, "err": 0.3, "rows": {"method": "limit", "p": 0.0}, "metric": "acc", "scale": 100,
             "direction_vs": "ce0"},
            {"id": "err", "where": "Intro", "text": "drops to 21%", "value": 21, "err": None,
             "rows": {"method": "ce", "p": 0.5}, "metric": "acc", "scale": 100},
        ],
        "claims": [
            {"id": "better", "where": "Intro", "text": "with noise it drops", "statement": "LIMIT beats CE.",
             "values": {"a": {"rows": {"method": "limit"}, "metric": "acc"},
                        "b": {"rows": {"method": "ce"}, "metric": "acc"}},
             "holds": "a > b"},
        ],
    }
    doc.update(extra)
    return doc


def test_table_field_and_values_by_hand():
    assert parse_value_err(table_field(SEED, TableCell("Method p = 0.0 p = 0.5", "LIMIT", 1))) == (95.6, 0.3)
    second = TableCell("Method p = 0.0 p = 0.5", "+ AC", 2, nth=2)
    assert parse_value_err(table_field(SEED, second)) == (65.0, 2.0)
    assert parse_value_err("× 1.3") == (1.3, None)
    with pytest.raises(LookupError, match="no row"):
        table_field(SEED, TableCell("Method p = 0.0 p = 0.5", "MAE", 1))


def test_seed_check_passes_and_catches_a_typo(tmp_path):
    good = load_reported(_write(tmp_path, _doc()))
    assert check_against_seed(good, SEED) == []
    doc = _doc()
    doc["numbers"][0]["value"] = 94.8                       # a typo in a table number
    doc["numbers"][2]["text"] = "drops to 12%"              # a fragment that is not in the seed
    problems = check_against_seed(load_reported(_write(tmp_path, doc)), SEED)
    assert any("ce0" in p and "94.3" in p for p in problems)
    assert any("err" in p and "not in" in p for p in problems)


def test_holds_allows_arithmetic_only():
    assert evaluate("a - b > 0.1 and abs(b) < 1", {"a": 0.5, "b": 0.2})
    assert not evaluate("max(a, b) <= 0.5 * a", {"a": 0.5, "b": 0.3})
    with pytest.raises(ConfigError, match="Attribute"):
        evaluate("a.__class__", {"a": 1.0})
    with pytest.raises(ConfigError, match="may call only"):
        evaluate("open('x')", {"a": 1.0})
    with pytest.raises(ConfigError, match="does not define"):
        evaluate("c > 1", {"a": 1.0})


def _aggregate():
    # p = 0: ce 93.5 / 94.5 %, limit 96 / 98 %; p = 0.5: ce 30 %.
    return pd.DataFrame({
        "method": ["ce", "ce", "limit", "limit", "ce"],
        "p": [0.0, 0.0, 0.0, 0.0, 0.5],
        "acc": [0.935, 0.945, 0.96, 0.98, 0.30],
    })


def test_verdicts_by_hand(tmp_path):
    reported = load_reported(_write(tmp_path, _doc()))
    card = score(reported, _aggregate(), "paper", "real", k=2.0).set_index("id")
    # ce0: measured 94.0 ± 0.707 (std of 93.5, 94.5); |94.0 - 94.3| = 0.3 <= 2 * hypot(0.5, 0.707) = 1.73
    assert card.at["ce0", "measured"] == pytest.approx(94.0)
    assert card.at["ce0", "measured_std"] == pytest.approx(math.sqrt(0.5))
    assert card.at["ce0", "verdict"] == "reproduced"
    # limit0: 97.0 ± 1.414 vs 95.6 ± 0.3: 1.4 <= 2 * 1.446 -> reproduced
    assert card.at["limit0", "verdict"] == "reproduced"
    # err: 30.0 (one row, std 0) vs 21 (no ±): off, and no comparison -> not reproduced
    assert card.at["err", "verdict"] == "not reproduced"
    assert card.at["better", "verdict"] == "reproduced"          # 0.97 > mean(0.935, 0.945, 0.30)


def test_direction_holds_and_not_comparable(tmp_path):
    agg = _aggregate()
    agg.loc[agg["method"] == "limit", "acc"] = [0.990, 0.992]       # 99.1 ± 0.14: far above 95.6 ± 0.3
    card = score(load_reported(_write(tmp_path, _doc())), agg, "paper", "real").set_index("id")
    assert card.at["limit0", "verdict"] == "direction holds"         # above CE here as in the paper
    smoke = score(load_reported(_write(tmp_path, _doc())), agg, "smoke", "standin").set_index("id")
    assert set(smoke["verdict"]) == {"not comparable"}
    assert smoke.at["limit0", "at_face_value"] == "direction holds"
    assert "smoke scale" in smoke.at["limit0", "reason"]
    standin = score(load_reported(_write(tmp_path, _doc())), agg, "paper", "standin").set_index("id")
    assert "stand-in" in standin.at["ce0", "reason"]
    missing = score(load_reported(_write(tmp_path, _doc())), agg[agg["p"] == 0.0], "paper", "real")
    assert missing.set_index("id").at["err", "verdict"] == "not comparable"


def test_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="exactly one of"):
        doc = _doc()
        doc["numbers"][0]["text"] = "94.3"
        load_reported(_write(tmp_path, doc))
    with pytest.raises(ConfigError, match="used twice"):
        doc = _doc()
        doc["claims"][0]["id"] = "ce0"
        load_reported(_write(tmp_path, doc))
    with pytest.raises(ConfigError, match="direction_vs"):
        doc = _doc()
        doc["numbers"][1]["direction_vs"] = "nope"
        load_reported(_write(tmp_path, doc))


def test_summary_counts_latex_markdown_and_readme(tmp_path):
    cards = pd.DataFrame({
        "target": ["a", "a", "a", "b"], "verdict": ["reproduced", "not reproduced", "not comparable",
                                                    "not comparable"],
        "reason": ["", "", "smoke scale (x)", "smoke scale (x)"],
    })
    table = counts(cards, {"a": "001 X", "b": "002 Y"})
    row_a = table.set_index("target").loc["a"]
    assert (row_a["reproduced"], row_a["not reproduced"], row_a["not comparable"]) == (1, 1, 1)
    assert row_a["summary"] == "1 of 2 comparable entries reproduced (3 in all)"
    assert table.set_index("target").loc["b", "summary"].startswith("1 entries, none comparable: smoke scale")
    rolled = per_paper(table)
    assert rolled["targets"].tolist() == [1, 1]
    tex = to_latex(table, rolled, "smoke")
    assert r"\begin{tabular}" in tex and r"\texttt{a}" in tex
    md = to_markdown(table, rolled, "smoke")
    readme = tmp_path / "README.md"
    from labelrepro.scorecard.summary import README_BEGIN, README_END

    readme.write_text(f"head\n{README_BEGIN}\nOLD-SECTION\n{README_END}\ntail\n")
    update_readme(readme, md)
    text = readme.read_text()
    assert "OLD-SECTION" not in text and "| `a` |" in text
    assert text.startswith("head") and text.endswith("tail\n")
