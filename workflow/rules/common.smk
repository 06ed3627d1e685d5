# Helper functions and constants shared by the workflow files. Keep this file free of Snakemake
# rules: they live in render.smk and in one file per paper.
import json


RUNTIME_KEYS = (
    "device",
    "deterministic",
    "data_dir",
    "download",
    "verify_data",
    "checkpoint_dir",
    "checkpoint_every_s",
    "progress",
    "torch_threads",
)


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


STANDIN_DIR = f"{config['data_dir']}/standin"
FIGURES = [name for name, exp in EXPERIMENTS.items() if exp.kind == "figure"]
TABLES = [name for name, exp in EXPERIMENTS.items() if exp.kind == "table"]


def one_of(names):
    """A wildcard regex matching exactly the given names (never matches when the list is empty)."""
    return "|".join(names) if names else "(?!)"


def targets_of(paper_prefix):
    return one_of([n for n, exp in EXPERIMENTS.items() if exp.paper.startswith(paper_prefix)])


def cell_spec(wildcards):
    """The job spec (JSON) of one training cell; a param, so a changed setting re-runs the cell."""
    cells = EXPERIMENTS[wildcards.target].cells(wildcards.scale)
    return json.dumps(cells[wildcards.cell].spec(), sort_keys=True, separators=(",", ":"))


def cell_dataset(wildcards):
    """The torchvision dataset a cell trains on, or None (synthetic data made by the trainer)."""
    return EXPERIMENTS[wildcards.target].cells(wildcards.scale)[wildcards.cell].settings.get("dataset")


def reads_standin(wildcards):
    return wildcards.scale == "smoke" and config["smoke_data"] == "standin" and cell_dataset(wildcards)


def cell_data(wildcards):
    """The stand-in dataset a smoke-scale cell reads (made by rule standin_dataset), else nothing."""
    return [f"{STANDIN_DIR}/{cell_dataset(wildcards)}"] if reads_standin(wildcards) else []


def cell_runtime(wildcards):
    """Run-time options handed to a training job as JSON (`--runtime`); smoke-scale cells on stand-in
    data read it from its own folder, offline and without md5 checks (the files are synthetic)."""
    runtime = {key: config[key] for key in RUNTIME_KEYS}
    if reads_standin(wildcards):
        runtime.update(data_dir=cell_data(wildcards)[0], download=False, verify_data=False)
    return Untracked(json.dumps(runtime, separators=(",", ":")))


def cell_resource(key, default=0, per_attempt=False):
    """A resource from the cell's experiment file; per_attempt multiplies it by the attempt number,
    so a job killed for its time limit is resubmitted (`retries`) with more time."""

    def get(wildcards, attempt):
        value = EXPERIMENTS[wildcards.target].resources(wildcards.scale).get(key, default)
        return value * attempt if per_attempt else value

    return get


def cell_dirs(wildcards):
    exp = EXPERIMENTS[wildcards.target]
    return [f"results/{exp.name}/{wildcards.scale}/runs/{cell}" for cell in exp.cells(wildcards.scale)]
