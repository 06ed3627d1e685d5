# Helper functions and constants shared by the workflow files. Keep this file free of Snakemake
# rules: they live in train.smk, render.smk, data.smk and one file per paper.
import json
import os
import sys

import yaml

from labelrepro.engine.runtime import RUNTIME_KEYS
from labelrepro.experiment import run_dataset, spec_json


class Untracked:
    """A param value that Snakemake passes to the shell but does not use as a re-run trigger.

    Snakemake records only params of builtin types for its `params` trigger; an object of another
    type is skipped. Run-time options (device, checkpointing, progress, threads) change where and how
    a job runs, not its result, so a run trained with `--config device=cuda progress=lines` must not
    be re-trained when a later call leaves them at their defaults.
    """

    def __init__(self, text):
        self.text = text

    def __str__(self):
        return self.text

    def __format__(self, spec):
        return format(self.text, spec)


FIGURES = [name for name, exp in EXPERIMENTS.items() if exp.kind == "figure"]
TABLES = [name for name, exp in EXPERIMENTS.items() if exp.kind == "table"]
with open(f"{workflow.basedir}/workflow/catalogue.yaml") as handle:
    CATALOGUE = yaml.safe_load(handle)


def one_of(names):
    """A wildcard regex matching exactly the given names (never matches when the list is empty)."""
    return "|".join(names) if names else "(?!)"


def none_of(names, followed_by="$", pattern="[^/]+"):
    """A wildcard regex matching `pattern` except the given names; `followed_by` is the regex of what
    comes after the wildcard in the path (the end, or e.g. a file extension)."""
    return f"(?!(?:{'|'.join(names)}){followed_by}){pattern}" if names else pattern


def standin_dir(dataset):
    return paths.STANDIN_DIR.format(data_dir=config["data_dir"], dataset=dataset)


def reads_standin(scale, job):
    """Smoke-scale runs read the stand-in of their dataset (rule standin_dataset), unless smoke_data=real."""
    return scale == "smoke" and config["smoke_data"] == "standin" and bool(PLAN.datasets(job))


CLOTHING1M_TARGETS = [name for name, exp in EXPERIMENTS.items()
                      if exp.settings.get("dataset") == "clothing1m"]
_DATA_WARNINGS = set()


def check_real_data(job):
    """Data that cannot be downloaded (Clothing1M, seed 002's Table 2) must be in place: one clear error
    naming the folder and the expected files while the DAG is built, before any job starts. A broad
    request (`all`, the scorecard) that does not name such a target only warns, so the other targets
    still build (with --keep-going); the job itself stops with the same error before training."""
    if "clothing1m" not in PLAN.datasets(job):
        return
    from labelrepro.papers.alasca.clothing1m import Clothing1MMissingError, check_layout, clothing1m_root

    try:
        check_layout(clothing1m_root(config["data_dir"]))
    except Clothing1MMissingError as error:
        dag = getattr(workflow, "dag_settings", None)
        requested = [str(t) for t in ((dag.targets if dag else None) or ())]  # none: the default `all`
        if any(name in t or "/runs/" in t for t in requested for name in CLOTHING1M_TARGETS):
            raise
        if str(error) not in _DATA_WARNINGS:
            _DATA_WARNINGS.add(str(error))
            print(f"WARNING: {', '.join(CLOTHING1M_TARGETS)} will fail: {error} Build the other targets "
                  "with --keep-going, or name them.", file=sys.stderr)


def job_data(scale, job):
    """The stand-in dataset folder a job reads, or nothing (real data, or data made by the trainer)."""
    if not reads_standin(scale, job):
        check_real_data(job)
        return []
    datasets = PLAN.datasets(job)
    if len(datasets) != 1:
        raise ValueError(f"job {job.name} mixes datasets {datasets}: pack runs of one dataset per job")
    return [standin_dir(datasets[0])]


def job_runtime(scale, job):
    """Run-time options handed to a training job as JSON (`--runtime`); smoke-scale jobs on stand-in
    data read it from its own folder, offline and without md5 checks (the files are synthetic)."""
    runtime = {key: config[key] for key in RUNTIME_KEYS}
    if reads_standin(scale, job):
        runtime.update(data_dir=job_data(scale, job)[0], download=False, verify_data=False)
    return Untracked(json.dumps(runtime, separators=(",", ":")))


def job_labels(scale, job):
    """Readable names of a job's runs for its progress lines (untracked: a label never re-trains)."""
    return Untracked(json.dumps(PLAN.labels(scale, job), separators=(",", ":")))


def job_resource(job_of, key, default=0, per_attempt=False):
    """A resource from the owning experiment's file; per_attempt multiplies it by the attempt number,
    so a job killed for its time limit is resubmitted (`retries`) with more time."""

    def get(wildcards, attempt):
        value = PLAN.resources(wildcards.scale, job_of(wildcards)).get(key, default)
        return value * attempt if per_attempt else value

    return get


def run_job(wildcards):
    return PLAN.job_of(wildcards.scale, wildcards.run)


def target_runs(wildcards):
    """The run folders of a target's cells (shared runs included): the aggregation's input."""
    return [entry["run"] for entry in PLAN.manifest(wildcards.target, wildcards.scale)]


def not_implemented(wildcards):
    """Asked for a figure or table without an experiment file: stop before any job starts."""
    listed = {name for names in CATALOGUE["figures"].values() for name in names}
    listed |= {name for names in CATALOGUE["tables"].values() for name in names}
    status = "is in the catalogue but not implemented yet" if wildcards.target in listed else (
        "is not a target of this artifact (workflow/catalogue.yaml lists them)")
    raise ValueError(
        f"'{wildcards.target}' {status}. Implemented targets: "
        + ", ".join(f"{exp.output}" for exp in EXPERIMENTS.values())
    )


def report_category(wildcards):
    """The report groups figures and tables by paper (the seed number and authors)."""
    return EXPERIMENTS[wildcards.target].paper


def report_subcategory(wildcards):
    return EXPERIMENTS[wildcards.target].element


def report_caption(wildcards):
    """The report caption of a target: paper element, what it shows, its settings file and scale."""
    exp = EXPERIMENTS[wildcards.target]
    description = " ".join(exp.description.split())
    return (f"{exp.paper}, {exp.element} (target ``{exp.name}``, scale ``{SCALE}``). {description} "
            f"Settings: ``{os.path.relpath(exp.source, workflow.basedir)}``; reported numbers and claims: ``paper/reported/{exp.name}.yaml``.")


EXPERIMENTS_PATH = str(Path(workflow.basedir) / "workflow" / "experiments")


def target_data(wildcards):
    """standin, real or synthetic: what the runs of a target trained on."""
    cells = EXPERIMENTS[wildcards.target].cells(wildcards.scale).values()
    jobs = [PLAN.job_of(wildcards.scale, cell.run.id) for cell in cells]
    if not any(PLAN.datasets(job) for job in jobs):
        return "synthetic"
    return "standin" if any(reads_standin(wildcards.scale, job) for job in jobs) else "real"


def first_cell_job(wildcards):
    """The training job of a target's first cell: a per-target step that reads the runs' data (ALASCA's
    saved-model analysis) takes that job's data folder and runtime options."""
    cell = next(iter(EXPERIMENTS[wildcards.target].cells(wildcards.scale).values()))
    return PLAN.job_of(wildcards.scale, cell.run.id)


def dataset_jobs(wildcards):
    """One training job per dataset of a target's cells: where a per-target step that reads several
    datasets (LIMIT's gradient statistics, rule limit_gradient_stats) reads each one from."""
    jobs = {}
    for cell in EXPERIMENTS[wildcards.target].cells(wildcards.scale).values():
        job = PLAN.job_of(wildcards.scale, cell.run.id)
        jobs.setdefault(run_dataset(cell.run), job)
    return jobs
