# Rules shared by every paper: aggregation of a target's runs and rendering of its figure or table.


wildcard_constraints:
    scale="smoke|paper",


rule aggregate:
    input:
        target_runs,
    output:
        curves=paths.CURVES,
        aggregate=paths.AGGREGATE,
    wildcard_constraints:
        target=one_of(list(EXPERIMENTS)),
    params:
        aggregator=lambda wildcards: EXPERIMENTS[wildcards.target].aggregate,
    log:
        paths.AGGREGATE_LOG,
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro aggregate --target {wildcards.target} --scale {wildcards.scale}"
        " --curves {output.curves:q} --aggregate {output.aggregate:q} > {log:q} 2>&1"


rule figure:
    input:
        curves=paths.CURVES.replace("{scale}", SCALE),
        aggregate=paths.AGGREGATE.replace("{scale}", SCALE),
    output:
        report(paths.FIGURE, caption="../report/target.rst", category=report_category,
               subcategory=report_subcategory),
    wildcard_constraints:
        target=one_of(FIGURES),
    params:
        renderer=lambda wildcards: EXPERIMENTS[wildcards.target].render,
        scale=SCALE,
        caption=report_caption,
    log:
        paths.RENDER_LOG.replace("{scale}", SCALE),
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro render --renderer {params.renderer} --scale {params.scale}"
        " --curves {input.curves:q} --aggregate {input.aggregate:q} --out {output:q} > {log:q} 2>&1"


rule table:
    input:
        curves=paths.CURVES.replace("{scale}", SCALE),
        aggregate=paths.AGGREGATE.replace("{scale}", SCALE),
    output:
        table=report(paths.TABLE, caption="../report/target.rst", category=report_category,
                     subcategory=report_subcategory),
        cells=paths.TABLE_CELLS,
    wildcard_constraints:
        target=one_of(TABLES),
    params:
        renderer=lambda wildcards: EXPERIMENTS[wildcards.target].render,
        scale=SCALE,
        caption=report_caption,
    log:
        paths.RENDER_LOG.replace("{scale}", SCALE),
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro render --renderer {params.renderer} --scale {params.scale}"
        " --curves {input.curves:q} --aggregate {input.aggregate:q} --out {output.table:q}"
        " --cells-out {output.cells:q} > {log:q} 2>&1"


rule not_implemented_figure:
    input:
        not_implemented,
    log:
        "logs/not_implemented/{target}.log",
    conda:
        "../../environment.yml"
    output:
        "figures/{target}.pdf",
    wildcard_constraints:
        target=none_of(FIGURES, r"\.pdf$"),
    localrule: True
    shell:
        "false > {log:q}"


rule not_implemented_table:
    input:
        not_implemented,
    log:
        "logs/not_implemented/{target}.log",
    conda:
        "../../environment.yml"
    output:
        "paper/tables/{target}.tex",
    wildcard_constraints:
        target=none_of([*TABLES, "scorecard"], r"\.tex$"),
    localrule: True
    shell:
        "false > {log:q}"
