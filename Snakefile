"""Reproducibility artifact: every figure and table of five papers on label noise, random labels and
label smoothing. Targets are declared in workflow/experiments/<target>.yaml; run-wide options in
workflow/config/config.yaml. Examples:

    snakemake --cores all figures/sparsity_fig1.pdf            # smoke scale, CPU
    snakemake --cores all --config scale=paper                 # everything at the papers' settings
    snakemake -n --config scale=paper figures/sparsity_fig1.pdf  # dry run: show the paper-scale jobs
"""

import json
import os
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)

from labelrepro.experiment import load_experiments  # noqa: E402


configfile: "workflow/config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")

SCALE = config["scale"]
PYTHON = sys.executable
EXPERIMENTS = load_experiments(Path(workflow.basedir) / "workflow" / "experiments")


include: "workflow/rules/common.smk"
include: "workflow/rules/sparsity.smk"


rule all:
    default_target: True
    input:
        [experiment.output for experiment in EXPERIMENTS.values()],
