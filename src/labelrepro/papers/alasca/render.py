"""Tables 1, 2, 3 and 4 of seed 002 (Ko, Yi & Yun, ALASCA) as booktabs LaTeX, in the paper's layout.

Input is the per-run aggregate (`final_per_run`: each run's last epoch). Accuracy is the run's
`test_acc_avg` (main head) or `test_acc_ens_avg` (ensemble, the starred ALASCA* row of Table 4): the mean
test accuracy over the last `report_last_epochs` epochs, in percent, mean ± std over seeds. Table 3's
efficiency columns are ratios to Standard of the *measured* peak training memory and total training time,
paired by (noise, seed) and averaged. The renderers return the same cells as numbers, which the table
rule writes to `paper/tables/<target>.csv`.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from labelrepro.core import atomic
from labelrepro.papers.alasca.methods import METHODS, table1_methods, table_order
from labelrepro.registry import RENDERERS

NOISE_COLUMNS = {"symm50": "Symm. 50", "asym40": "Asym. 40", "inst40": "Inst. 40"}
AC_NAMES = {"mlp": "MLP", "bottleneck": "Bottleneck", "residual": "Residual"}


def table4_rows() -> list[tuple[str, str, str]]:
    """(label, method, accuracy column) of Table 4, from the methods' declarations, in table order."""
    return [(label, name, column) for name in table_order() for label, column in METHODS[name].table4_rows]


def table3_baselines() -> list[tuple[str, str]]:
    """(label, method) of Table 3's baseline rows (before the ALASCA block), in table order."""
    return [(label, name) for name in table_order() if (label := METHODS[name].table3_label)]


def table3_ac_methods() -> list[str]:
    """Methods with one Table 3 row per (AC architecture, position): ALASCA."""
    return [name for name in table_order() if METHODS[name].table3_by_ac]


def _mean_std(values: pd.Series) -> tuple[float, float, int]:
    values = values.dropna().astype(float) * 100.0
    n = len(values)
    if n == 0:
        return math.nan, math.nan, 0
    return float(values.mean()), float(values.std(ddof=1)) if n > 1 else 0.0, n


def _fmt(mean: float, std: float, n: int) -> str:
    if n == 0:
        return "--"
    return f"{mean:.1f}" if n == 1 else f"{mean:.1f} $\\pm$ {std:.1f}"


def _scale_comment(scale: str, final: pd.DataFrame) -> str:
    seeds = final.groupby("cell").size().max() if len(final) else 0
    note = f"% Built at {scale} scale from {len(final)} runs (up to {seeds} seed(s) per cell).\n"
    if scale != "paper":
        note += (
            "% SMOKE SCALE: tiny network, subset and epochs (and stand-in data): not the paper's numbers.\n"
        )
    return note


def _caption_note(scale: str) -> str:
    return "" if scale == "paper" else f" [{scale} scale: not the paper's settings or data]"


def _write_table(
    out: Path, scale: str, final: pd.DataFrame, columns: str, body: list[str], caption: str, label: str
) -> None:
    """Write one booktabs table: `body` is everything between \\toprule and \\bottomrule."""
    lines = [
        _scale_comment(scale, final).rstrip("\n"),
        r"\begin{table}[t]",
        r"\centering",
        rf"\begin{{tabular}}{{{columns}}}",
        r"\toprule",
        *body,
        r"\bottomrule",
        r"\end{tabular}",
        r"\caption{" + caption + _caption_note(scale) + "}",
        rf"\label{{{label}}}",
        r"\end{table}",
    ]
    atomic.write_text(out, "\n".join(lines) + "\n")


def table4_cells(final: pd.DataFrame) -> pd.DataFrame:
    """One row per (table row, noise): mean, std and n of the accuracy in percent."""
    records = []
    for label, method, column in table4_rows():
        for noise in NOISE_COLUMNS:
            runs = final[(final["method"] == method) & (final["noise"] == noise)]
            mean, std, n = _mean_std(runs[column]) if len(runs) else (math.nan, math.nan, 0)
            records.append({"row": label.replace(r"\quad ", ""), "method": method, "metric": column,
                            "noise": noise, "mean": mean, "std": std, "n": n})
    return pd.DataFrame(records)


@RENDERERS.register("alasca_table4")
def render_alasca_table4(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> pd.DataFrame:
    """Table 4: component analysis, rows ULS … ALASCA*, columns Symm. 50 / Asym. 40 / Inst. 40."""
    cells = table4_cells(final)
    lines = [
        " & " + " & ".join(NOISE_COLUMNS.values()) + r" \\",
        r"\midrule",
    ]
    for label, method, column in table4_rows():
        row = cells[(cells["method"] == method) & (cells["metric"] == column)].set_index("noise")
        entries = [_fmt(row.at[n, "mean"], row.at[n, "std"], int(row.at[n, "n"])) for n in NOISE_COLUMNS]
        lines.append(f"{label} & " + " & ".join(entries) + r" \\")
    caption = (
        r"Component analysis on CIFAR-10 (test accuracy, \%, mean $\pm$ std over seeds). "
        r"ALASCA* ensembles all classifiers of the ALASCA runs at inference."
    )
    _write_table(out, scale, final, "lccc", lines, caption, "tab:alasca_table4")
    return cells


def _efficiency_ratios(final: pd.DataFrame, runs: pd.DataFrame) -> tuple[float, float]:
    """Mean over (noise, seed) pairs of run / Standard for peak memory and total training time."""
    standard = final[final["method"] == "standard"].set_index(["noise", "seed"])
    mem, time = [], []
    for _, run in runs.iterrows():
        key = (run["noise"], run["seed"])
        if key not in standard.index:
            continue
        base = standard.loc[key]
        if base["peak_mem_mb"] > 0:
            mem.append(run["peak_mem_mb"] / base["peak_mem_mb"])
        if base["train_time_s"] > 0:
            time.append(run["train_time_s"] / base["train_time_s"])
    mean = lambda xs: sum(xs) / len(xs) if xs else math.nan  # noqa: E731
    return mean(mem), mean(time)


def table3_rows(final: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(row label, runs) in the paper's order; ALASCA rows pick one (AC type, position) each."""
    rows = [(label, final[final["method"] == method]) for label, method in table3_baselines()]
    for method in table3_ac_methods():
        runs_of = final[final["method"] == method]
        for ac_type, name in AC_NAMES.items():
            for positions, star in (("third", ""), ("all", "*")):
                runs = runs_of[(runs_of["ac_type"] == ac_type) & (runs_of["ac_positions"] == positions)]
                rows.append((name + star, runs))
    return rows


def table3_cells(final: pd.DataFrame) -> pd.DataFrame:
    records = []
    for label, runs in table3_rows(final):
        record: dict[str, object] = {"row": label}
        for noise in ("symm50", "inst40"):
            mean, std, n = _mean_std(runs[runs["noise"] == noise]["test_acc_avg"])
            record.update({f"{noise}_mean": mean, f"{noise}_std": std, f"{noise}_n": n})
        record["memory_ratio"], record["time_ratio"] = _efficiency_ratios(final, runs)
        records.append(record)
    return pd.DataFrame(records)


def _ratio(value: float) -> str:
    return "--" if math.isnan(value) else f"$\\times$ {value:.1f}"


@RENDERERS.register("alasca_table3")
def render_alasca_table3(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> pd.DataFrame:
    """Table 3: Standard / HAR / CDR / ALASCA AC variants × (Symm., Inst.) accuracy and Mem./Time ratios."""
    cells = table3_cells(final)
    device = "GPU" if scale == "paper" else "measured"
    lines = [
        r"Dataset & \multicolumn{2}{c}{CIFAR-10} & \multicolumn{2}{c}{Efficiency} \\",
        r"\cmidrule(lr){2-3}\cmidrule(lr){4-5}",
        r"Noisy Type & Symm. & Inst. & Mem. & Time \\",
        r"\midrule",
    ]
    for i, record in cells.iterrows():
        if i == len(table3_baselines()):
            lines += [r"\midrule",
                      r"\multicolumn{5}{c}{ALASCA (Different architecture and position of ACs)} \\",
                      r"\midrule"]
        acc = [
            _fmt(record[f"{n}_mean"], record[f"{n}_std"], int(record[f"{n}_n"])) for n in ("symm50", "inst40")
        ]
        lines.append(f"{record['row']} & " + " & ".join(acc)
                     + f" & {_ratio(record['memory_ratio'])} & {_ratio(record['time_ratio'])}" + r" \\")
    caption = (
        r"Accuracy (\%) on CIFAR-10 with 50\% symmetric / 40\% instance-dependent noise, and "
        f"{device} peak training memory and training time relative to Standard. "
        r"Without/with * : ACs after the third / after all residual blocks."
    )
    _write_table(out, scale, final, "lcccc", lines, caption, "tab:alasca_table3")
    return cells


#: Table 1's columns in the paper's order: (aggregate noise name, dataset, noise type, ratio).
TABLE1_COLUMNS = (
    ("symm50", "CIFAR-10", "Symm.", "50\\%"), ("symm80", "CIFAR-10", "Symm.", "80\\%"),
    ("asym40", "CIFAR-10", "Asym.", "40\\%"), ("inst40", "CIFAR-10", "Inst.", "40\\%"),
    ("c100_symm20", "CIFAR-100", "Symm.", "20\\%"), ("c100_symm50", "CIFAR-100", "Symm.", "50\\%"),
    ("c100_symm80", "CIFAR-100", "Symm.", "80\\%"), ("c100_asym40", "CIFAR-100", "Asym.", "40\\%"),
)
TABLE1_VARIANTS = (("base", ""), ("alasca", " + ALASCA"))


def table1_cells(final: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, variant, noise) of the 14 × 8 grid: mean, std and n of `test_acc_avg` (%);
    `best`: the higher mean of the method's pair (base, + ALASCA) in that column, as the paper bolds."""
    records = []
    for method in table1_methods():
        for noise, *_ in TABLE1_COLUMNS:
            pair = []
            for variant, suffix in TABLE1_VARIANTS:
                runs = final[(final["method"] == method) & (final["variant"] == variant)
                             & (final["noise"] == noise)]
                mean, std, n = _mean_std(runs["test_acc_avg"]) if len(runs) else (math.nan, math.nan, 0)
                pair.append({"row": METHODS[method].table1_label + suffix, "method": method,
                             "variant": variant, "noise": noise, "mean": mean, "std": std, "n": n})
            means = [r["mean"] for r in pair]
            top = max((m for m in means if not math.isnan(m)), default=math.nan)
            for record in pair:
                record["best"] = bool(not math.isnan(top) and round(record["mean"], 1) == round(top, 1))
            records += pair
    return pd.DataFrame(records)


@RENDERERS.register("alasca_table1")
def render_alasca_table1(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> pd.DataFrame:
    """Table 1: each method's row and its "+ ALASCA" row over CIFAR-10/100 noise columns; in each column
    the better of the pair in bold (equal rounded means: both). Columns without runs print "--"."""
    cells = table1_cells(final)
    lines = [
        r"Dataset & \multicolumn{4}{c}{CIFAR-10} & \multicolumn{4}{c}{CIFAR-100} \\",
        r"\cmidrule(lr){2-5}\cmidrule(lr){6-9}",
        r"Noisy Type & \multicolumn{2}{c}{Symm.} & Asym. & Inst. & \multicolumn{3}{c}{Symm.} & Asym. \\",
        r"\cmidrule(lr){2-3}\cmidrule(lr){6-8}",
        "Noise Ratio & " + " & ".join(ratio for *_, ratio in TABLE1_COLUMNS) + r" \\",
    ]
    for method in table1_methods():
        lines.append(r"\midrule")
        for variant, _ in TABLE1_VARIANTS:
            rows = cells[(cells["method"] == method) & (cells["variant"] == variant)].set_index("noise")
            entries = []
            for noise, *_ in TABLE1_COLUMNS:
                text = _fmt(rows.at[noise, "mean"], rows.at[noise, "std"], int(rows.at[noise, "n"]))
                entries.append(rf"\textbf{{{text}}}" if rows.at[noise, "best"] else text)
            lines.append(f"{rows['row'].iloc[0]} & " + " & ".join(entries) + r" \\")
    caption = (
        r"Test accuracy (\%, mean $\pm$ std over seeds of the mean over the last epochs) on CIFAR-10/100 "
        r"for noise-robust losses and sample-selection methods, without and with ALASCA; the better of "
        r"each pair in bold."
    )
    _write_table(out, scale, final, "l" + "c" * len(TABLE1_COLUMNS), lines, caption, "tab:alasca_table1")
    return cells


#: Table 2 in the paper's column order: (label, (method, variant) of our re-run, or None: quoted only),
#: and the paper's accuracy (%). The paper itself quotes its baselines from Liu et al. (2020) and Kim et al.
#: (2021a); ALASCA, A-Coteaching and A-ELR+ are its own runs.
TABLE2_COLUMNS: tuple[tuple[str, tuple[str, str] | None, float], ...] = (
    ("Standard", ("standard", "base"), 68.94),
    ("GCE", None, 69.75),
    ("SCE", None, 71.02),
    ("Co-teaching", ("coteaching", "base"), 70.15),
    ("FINE", None, 72.91),
    ("DivideMix", None, 74.76),
    ("ELR+", None, 74.81),
    ("ALASCA", ("standard", "alasca"), 73.78),
    ("A-Coteaching", ("coteaching", "alasca"), 74.20),
    ("A-ELR+", None, 74.92),
)
QUOTED_MARK = r"$^\dagger$"


def table2_cells(final: pd.DataFrame) -> pd.DataFrame:
    """One row per Table 2 column: the re-run's mean, std and n of `test_acc_avg` (%; Co-teaching: the
    logit mean of both networks' heads) or, for a quoted column, the paper's number (`source: quoted`)."""
    records = []
    for label, key, paper in TABLE2_COLUMNS:
        record: dict[str, object] = {"row": label, "paper": paper}
        if key is None:
            record.update(method="", variant="", source="quoted", mean=paper, std=math.nan, n=0)
        else:
            method, variant = key
            runs = (final[(final["method"] == method) & (final["variant"] == variant)]
                    if len(final) else final)
            mean, std, n = _mean_std(runs["test_acc_avg"]) if len(runs) else (math.nan, math.nan, 0)
            record.update(method=method, variant=variant, source="re-run", mean=mean, std=std, n=n)
        records.append(record)
    return pd.DataFrame(records)


def _fmt2(mean: float, std: float, n: int) -> str:
    if n == 0 or math.isnan(mean):
        return "--"
    return f"{mean:.2f}" if n == 1 else f"{mean:.2f} $\\pm$ {std:.2f}"


@RENDERERS.register("alasca_table2")
def render_alasca_table2(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> pd.DataFrame:
    """Table 2: Clothing1M test accuracy, one column per method in the paper's order. Row "Accuracy":
    this artifact's re-run (Standard, Co-teaching, ALASCA, A-Coteaching) and, marked with a dagger, the
    numbers quoted from the paper for the methods not re-run; row "Paper": the paper's numbers."""
    cells = table2_cells(final)
    entries, paper = [], []
    for _, cell in cells.iterrows():
        if cell["source"] == "quoted":
            entries.append(f"{cell['paper']:.2f}{QUOTED_MARK}")
        else:
            entries.append(_fmt2(cell["mean"], cell["std"], int(cell["n"])))
        paper.append(f"{cell['paper']:.2f}")
    lines = [
        "Method & " + " & ".join(cells["row"]) + r" \\",
        r"\midrule",
        "Accuracy & " + " & ".join(entries) + r" \\",
        r"Paper & " + " & ".join(paper) + r" \\",
    ]
    quoted = ", ".join(cells.loc[cells["source"] == "quoted", "row"])
    caption = (
        r"Test accuracy (\%, mean of the last epochs' test accuracy) on Clothing1M, ResNet-50. "
        r"Row Accuracy: this artifact's runs of Standard, Co-teaching, ALASCA (Standard + ALASCA) and "
        rf"A-Coteaching (Co-teaching + ALASCA); {QUOTED_MARK}~quoted from the paper, not re-run ({quoted}). "
        r"Row Paper: the paper's Table 2 (its baselines quoted from Liu et al.\ 2020 and Kim et al.\ 2021a)."
    )
    _write_table(out, scale, final, "l" + "c" * len(cells), lines, caption, "tab:alasca_table2")
    return cells
