# Rules shared by every paper: aggregation of run folders and rendering of figures and tables.
# Training rules live in one file per paper (they differ in resources and grouping).

RUNTIME_KEYS = (
    "device",
    "deterministic",
    "data_dir",
    "download",
    "checkpoint_dir",
    "checkpoint_every_s",
    "progress",
    "torch_threads",
)
# Run-time options reach jobs through the command line but not through `params`, so that changing
# e.g. the progress style or the device does not make Snakemake re-train finished runs.
RUNTIME = json.dumps({key: config[key] for key in RUNTIME_KEYS}, separators=(",", ":"))
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


def cell_resource(key, default=0):
    def get(wildcards):
        return EXPERIMENTS[wildcards.target].resources(wildcards.scale).get(key, default)

    return get


def cell_dirs(wildcards):
    exp = EXPERIMENTS[wildcards.target]
    return [f"results/{exp.name}/{wildcards.scale}/runs/{cell}" for cell in exp.cells(wildcards.scale)]


wildcard_constraints:
    scale="smoke|paper",
    cell="[^/]+",


rule aggregate:
    input:
        cell_dirs,
    output:
        curves="results/{target}/{scale}/curves.csv",
        aggregate="results/{target}/{scale}/aggregate.csv",
    params:
        aggregator=lambda wildcards: EXPERIMENTS[wildcards.target].aggregate,
    log:
        "logs/{target}/{scale}/aggregate.log",
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "{PYTHON} -m labelrepro aggregate --aggregator {params.aggregator}"
        " --curves {output.curves:q} --aggregate {output.aggregate:q} {input:q} > {log:q} 2>&1"


rule figure:
    input:
        curves=f"results/{{target}}/{SCALE}/curves.csv",
        aggregate=f"results/{{target}}/{SCALE}/aggregate.csv",
    output:
        "figures/{target}.pdf",
    wildcard_constraints:
        target=one_of(FIGURES),
    params:
        renderer=lambda wildcards: EXPERIMENTS[wildcards.target].render,
    log:
        f"logs/{{target}}/{SCALE}/render.log",
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "{PYTHON} -m labelrepro render --renderer {params.renderer} --scale {SCALE}"
        " --curves {input.curves:q} --aggregate {input.aggregate:q} --out {output:q} > {log:q} 2>&1"


rule table:
    input:
        curves=f"results/{{target}}/{SCALE}/curves.csv",
        aggregate=f"results/{{target}}/{SCALE}/aggregate.csv",
    output:
        "paper/tables/{target}.tex",
    wildcard_constraints:
        target=one_of(TABLES),
    params:
        renderer=lambda wildcards: EXPERIMENTS[wildcards.target].render,
    log:
        f"logs/{{target}}/{SCALE}/render.log",
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "{PYTHON} -m labelrepro render --renderer {params.renderer} --scale {SCALE}"
        " --curves {input.curves:q} --aggregate {input.aggregate:q} --out {output:q} > {log:q} 2>&1"
