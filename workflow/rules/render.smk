# Rules shared by every paper: aggregation of run folders and rendering of figures and tables.
# Training rules live in one file per paper (they differ in resources and grouping).


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
        "python -m labelrepro aggregate --aggregator {params.aggregator}"
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
        scale=SCALE,
    log:
        f"logs/{{target}}/{SCALE}/render.log",
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro render --renderer {params.renderer} --scale {params.scale}"
        " --curves {input.curves:q} --aggregate {input.aggregate:q} --out {output:q} > {log:q} 2>&1"


rule table:
    input:
        curves=f"results/{{target}}/{SCALE}/curves.csv",
        aggregate=f"results/{{target}}/{SCALE}/aggregate.csv",
    output:
        table="paper/tables/{target}.tex",
        cells="paper/tables/{target}.csv",
    wildcard_constraints:
        target=one_of(TABLES),
    params:
        renderer=lambda wildcards: EXPERIMENTS[wildcards.target].render,
        scale=SCALE,
    log:
        f"logs/{{target}}/{SCALE}/render.log",
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro render --renderer {params.renderer} --scale {params.scale}"
        " --curves {input.curves:q} --aggregate {input.aggregate:q} --out {output.table:q}"
        " --cells-out {output.cells:q} > {log:q} 2>&1"
