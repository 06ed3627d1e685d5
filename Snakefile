"""Reproducibility artifact: every figure and table of five papers on label noise, random labels and
label smoothing. Targets are declared in workflow/experiments/<paper>/<target>.yaml; run-wide options in
workflow/config/config.yaml. Examples:

    snakemake --cores all figures/sparsity_fig1.pdf            # smoke scale, CPU
    snakemake --cores all --config scale=paper                 # everything at the papers' settings
    snakemake -n --config scale=paper figures/sparsity_fig1.pdf  # dry run: show the paper-scale jobs
"""

import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

# The Snakefile reads the experiment files through the package in src/ (torch-free modules only, so
# parsing takes about a second); jobs run `python -m labelrepro` from the environment
# (installed with `pip install -e .`, which `make run`/`make test` do).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from labelrepro import paths  # noqa: E402
from labelrepro.experiment import Plan, load_experiments  # noqa: E402


configfile: "workflow/config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")

SCALE = config["scale"]
EXPERIMENTS = load_experiments(Path(workflow.basedir) / "workflow" / "experiments")
PLAN = Plan(EXPERIMENTS)


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/random_labels.smk"
include: "workflow/rules/limit.smk"
include: "workflow/rules/alasca.smk"
include: "workflow/rules/sparsity.smk"
include: "workflow/rules/relaxation.smk"
include: "workflow/rules/render.smk"
include: "workflow/rules/scorecard.smk"


report: "workflow/report/workflow.rst"


rule all:
    default_target: True
    input:
        [experiment.output for experiment in EXPERIMENTS.values()],
        paths.SCORECARD_TABLE,
        paths.PAPER_BODY,
