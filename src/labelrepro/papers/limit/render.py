"""LaTeX tables of seed 001 (Harutyunyan et al. supplement, Tables 4 and 5).

Layout as in the paper: one row per method (paper order), columns grouped by noise rate p and, within
each, the training-set sizes n (10^3, 10^4, All); entries are test accuracy (%) mean ± standard
deviation over the splits, for the configuration that validation selected (aggregate_limit). The best
mean of each column is bold; all entries whose rounded mean equals the best rounded mean are bold (the
paper also bolds several entries per column, by a rule it does not state). Below it, a second table
gives the selected hyperparameters of every entry, so the selection can be checked against the grid.
The file is a fragment for `\\input` (needs booktabs and graphicx, which paper/main.tex loads).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from labelrepro.core import atomic
from labelrepro.papers.limit.methods import row_label, table_order
from labelrepro.registry import RENDERERS

HP_LABELS = {"beta": "\\beta", "sigma": "\\sigma", "lam": "\\lambda", "lr": "\\mathrm{lr}"}


def size_label(n: int) -> str:
    """'$n = 10^{3}$' for powers of ten (as the paper), 'All' for 0 (every training example)."""
    if n == 0:
        return "All"
    exponent = math.log10(n)
    if exponent.is_integer():
        return f"$n = 10^{{{int(exponent)}}}$"
    return f"$n = {n}$"


def _value(x: float) -> str:
    return "--" if pd.isna(x) else f"{100 * x:.1f}"


def _entry(mean: float, std: float, bold: bool) -> str:
    text = f"{_value(mean)} $\\pm$ {_value(std)}" if not pd.isna(std) else _value(mean)
    return f"\\textbf{{{text}}}" if bold else text


def _hyperparameters(row: pd.Series) -> str:
    parts = [f"${HP_LABELS[k]}={row[k]:g}$" for k in HP_LABELS if k in row and not pd.isna(row[k])]
    return ", ".join(parts) if parts else "--"


def latex_tables(aggregate: pd.DataFrame, scale: str, caption: str, short_labels: bool = False) -> str:
    """The main table and the table of selected hyperparameters, as one LaTeX fragment. With a single
    training size (Tables 6-7: all of CIFAR-10's 40k) the columns are the noise rates alone, as there."""
    chosen = aggregate[aggregate["selected"].astype(bool)]
    rates = sorted(chosen["noise_rate"].unique())
    sizes = sorted(chosen["train_size"].unique(), key=lambda n: (n == 0, n))
    columns = [(p, n) for p in rates for n in sizes]
    methods = [m for m in table_order() if m in set(chosen["method"])]
    cells = {(r.method, r.noise_rate, r.train_size): r for r in chosen.itertuples(index=False)}
    best = {}
    for p, n in columns:
        means = [round(100 * cells[(m, p, n)].test_acc_mean, 1) for m in methods if (m, p, n) in cells]
        best[(p, n)] = max(means) if means else None

    spec = "l" + "c" * len(columns)
    head_rates = " & ".join(
        f"\\multicolumn{{{len(sizes)}}}{{c}}{{$p = {p:g}$}}" for p in rates
    )
    rules = " ".join(
        f"\\cmidrule(lr){{{2 + i * len(sizes)}-{1 + (i + 1) * len(sizes)}}}" for i in range(len(rates))
    )
    head_sizes = " & ".join(size_label(int(n)) for _, n in columns)
    header = [f"Method & {head_rates} \\\\", rules, f" & {head_sizes} \\\\"]
    if len(sizes) == 1:
        header = [f"Method & {head_rates} \\\\"]
    lines = [
        "\\begin{table}[h]\\centering",
        f"\\caption{{{caption}}}",
        f"\\resizebox{{\\linewidth}}{{!}}{{\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        *header,
        "\\midrule",
    ]
    for m in methods:
        entries = []
        for p, n in columns:
            r = cells.get((m, p, n))
            if r is None:
                entries.append("--")
                continue
            is_best = round(100 * r.test_acc_mean, 1) == best[(p, n)]
            entries.append(_entry(r.test_acc_mean, r.test_acc_std, is_best))
        lines.append(f"{row_label(m, short_labels)} & " + " & ".join(entries) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}}", "", "\\medskip", "{\\small Selected hyperparameters "
              "(highest mean validation accuracy over the splits; validation labels carry the same noise):}",
              "", f"\\resizebox{{\\linewidth}}{{!}}{{\\begin{{tabular}}{{{spec}}}", "\\toprule",
              *header, "\\midrule"]
    for m in methods:
        hp = [_hyperparameters(pd.Series(cells[(m, p, n)]._asdict())) if (m, p, n) in cells else "--"
              for p, n in columns]
        lines.append(f"{row_label(m, short_labels)} & " + " & ".join(hp) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}}", "\\end{table}", ""]
    return "\n".join(lines)


def _caption(aggregate: pd.DataFrame, scale: str) -> str:
    splits = int(aggregate["n_splits"].max())
    text = (f"Test accuracy (\\%) on MNIST with uniform label noise, mean $\\pm$ std over {splits} "
            "training/validation split(s), hyperparameters selected on validation accuracy; best per "
            "column in bold (seed 001, Harutyunyan et al.).")
    if scale != "paper":
        text += f" \\textbf{{[{scale} scale: not the paper's settings or data]}}"
    return text


@RENDERERS.register("limit_table")
def render_limit_table(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> pd.DataFrame:
    """Tables 4 and 5 (and any other p x n grid of the same experiment form): rows and columns come from
    the aggregate, so each table is defined by its experiment file alone."""
    atomic.write_text(out, latex_tables(final, scale, _caption(final, scale)))
    return final[final["selected"]].reset_index(drop=True)  # the table's cells: one selected row per column


_NOISE_NAMES = {"uniform": "uniform label noise", "pair": "pair noise (truck$\\to$automobile, "
                "bird$\\to$airplane, deer$\\to$horse, cat$\\to$dog)"}


def _cifar_caption(aggregate: pd.DataFrame, scale: str, noise: str) -> str:
    text = (f"Test accuracy (\\%) on CIFAR-10 with {_NOISE_NAMES[noise]}, one run per entry; error bars "
            "= std over 1000 bootstrap resamples of the test set; hyperparameters selected on (noisy) "
            "validation accuracy; best per column in bold (seed 001, Harutyunyan et al.).")
    if scale != "paper":
        text += f" \\textbf{{[{scale} scale: not the paper's settings or data]}}"
    return text


def _render_cifar(final: pd.DataFrame, out: Path, scale: str, noise: str) -> pd.DataFrame:
    atomic.write_text(out, latex_tables(final, scale, _cifar_caption(final, scale, noise), short_labels=True))
    return final[final["selected"]].reset_index(drop=True)


@RENDERERS.register("limit_table6")
def render_limit_table6(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> pd.DataFrame:
    """Table 6 (CIFAR-10, uniform noise): columns p only, rows without "- S" (no sampling rows)."""
    return _render_cifar(final, out, scale, "uniform")


@RENDERERS.register("limit_table7")
def render_limit_table7(curves: pd.DataFrame, final: pd.DataFrame, out: Path, scale: str) -> pd.DataFrame:
    """Table 7 (CIFAR-10, pair noise), laid out as Table 6."""
    return _render_cifar(final, out, scale, "pair")
