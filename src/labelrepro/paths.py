"""Where the workflow's files live: the one place that spells the `results/`, `figures/`, `paper/` and
`logs/` paths. The Snakemake rules use the same patterns (with `{wildcards}`), so the rules, the
aggregation step and the tests cannot disagree about a path."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

#: One run (all its seeds): `seed-<k>/{metrics.csv,meta.json,...}`.
RUN_DIR = "results/runs/{scale}/{trainer}/{run}"
TARGET_DIR = "results/{target}/{scale}"
CURVES = TARGET_DIR + "/curves.csv"
AGGREGATE = TARGET_DIR + "/aggregate.csv"
FIGURE = "figures/{target}.pdf"
PROVENANCE = TARGET_DIR + "/provenance.json"
SCORECARD = TARGET_DIR + "/scorecard.csv"
REPORTED = "paper/reported/{target}.yaml"
SCORECARD_TABLE = "paper/tables/scorecard.tex"
SCORECARD_SUMMARY = "results/scorecard/{scale}.md"
SCORECARD_ALL = "results/scorecard/{scale}.csv"
PAPER_BODY = "paper/generated/body.tex"
PAPER_PDF = "paper/main.pdf"
TABLE = "paper/tables/{target}.tex"
TABLE_CELLS = "paper/tables/{target}.csv"
TRAIN_LOG = "logs/runs/{scale}/{trainer}/{run}.log"
PACK_LOG = "logs/packs/{scale}/{job}.log"
AGGREGATE_LOG = "logs/{target}/{scale}/aggregate.log"
RENDER_LOG = "logs/{target}/{scale}/render.log"
SCORECARD_LOG = "logs/{target}/{scale}/scorecard.log"
STANDIN_DIR = "{data_dir}/standin/{dataset}"


def run_dir(scale: str, trainer: str, run: str) -> str:
    return RUN_DIR.format(scale=scale, trainer=trainer, run=run)


def curves(target: str, scale: str) -> str:
    return CURVES.format(target=target, scale=scale)


def aggregate(target: str, scale: str) -> str:
    return AGGREGATE.format(target=target, scale=scale)


def figure(target: str) -> str:
    return FIGURE.format(target=target)


def table(target: str) -> str:
    return TABLE.format(target=target)
