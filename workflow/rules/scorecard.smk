# The reproduction scorecard, the provenance of every target, the paper (PDF) and the report.
#
# - `provenance`: commits, config hashes and data of a target's runs (captions of the paper and report).
# - `scorecard`: verdicts of one target's reported numbers and claims (paper/reported/<target>.yaml).
# - `scorecard_summary`: the roll-up over all targets (paper/tables/scorecard.tex; `make run` builds it).
# - `paper_pdf`: paper/main.pdf with latexmk (Debian: `apt-get install latexmk texlive-latex-recommended`).


rule provenance:
    input:
        target_runs,
    output:
        paths.PROVENANCE,
    wildcard_constraints:
        target=one_of(list(EXPERIMENTS)),
    params:
        data=target_data,
    log:
        paths.SCORECARD_LOG.replace("scorecard.log", "provenance.log"),
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro provenance --target {wildcards.target} --scale {wildcards.scale}"
        " --data {params.data} --out {output:q} > {log:q} 2>&1"


rule scorecard:
    input:
        aggregate=paths.AGGREGATE,
        reported=paths.REPORTED,
    output:
        paths.SCORECARD,
    wildcard_constraints:
        target=one_of(list(EXPERIMENTS)),
    params:
        data=target_data,
        k=config["scorecard_k"],
    log:
        paths.SCORECARD_LOG,
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro scorecard --target {wildcards.target} --scale {wildcards.scale}"
        " --data {params.data} --k {params.k} --reported {input.reported:q}"
        " --aggregate {input.aggregate:q} --out {output:q} > {log:q} 2>&1"


rule scorecard_summary:
    input:
        [paths.SCORECARD.format(target=name, scale=SCALE) for name in EXPERIMENTS],
    output:
        tex=report(paths.SCORECARD_TABLE, caption="../report/scorecard.rst", category="Scorecard"),
        markdown=paths.SCORECARD_SUMMARY.format(scale=SCALE),
        csv=paths.SCORECARD_ALL.format(scale=SCALE),
    params:
        scale=SCALE,
        experiments=EXPERIMENTS_PATH,
    log:
        f"logs/scorecard/{SCALE}.log",
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro scorecard-summary --scale {params.scale} --cards {input:q}"
        " --tex {output.tex:q} --markdown {output.markdown:q} --csv {output.csv:q}"
        " --experiments {params.experiments:q} > {log:q} 2>&1"


rule paper_body:
    input:
        [paths.PROVENANCE.format(target=name, scale=SCALE) for name in EXPERIMENTS],
    output:
        paths.PAPER_BODY,
    params:
        scale=SCALE,
        experiments=EXPERIMENTS_PATH,
    log:
        f"logs/paper/{SCALE}-body.log",
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro paper-body --scale {params.scale} --provenance {input:q} --out {output:q}"
        " --experiments {params.experiments:q} > {log:q} 2>&1"


rule paper_pdf:
    input:
        body=paths.PAPER_BODY,
        main="paper/main.tex",
        scorecard=paths.SCORECARD_TABLE,
        artefacts=[experiment.output for experiment in EXPERIMENTS.values()],
    output:
        paths.PAPER_PDF,
    log:
        f"logs/paper/{SCALE}-latexmk.log",
    localrule: True
    conda:
        "../envs/latex.yaml"
    shell:
        "command -v latexmk > /dev/null || {{ echo 'paper/main.pdf needs latexmk and pdflatex: on Debian/Ubuntu"
        " run apt-get install latexmk texlive-latex-recommended texlive-fonts-recommended' >&2; exit 1; }}; "
        "cd paper && latexmk -pdf -interaction=nonstopmode -halt-on-error main.tex > ../{log:q} 2>&1"
        " || {{ tail -40 ../{log:q} >&2; exit 1; }}"
