# Seed 002 (Ko, Yi & Yun, ALASCA): ResNet-34 on noisy CIFAR-10. One run (one seed) per job; a GPU per
# job at paper scale.


use rule train_run as alasca_train with:
    wildcard_constraints:
        trainer="alasca",
        run=none_of(PACKED_RUNS),


# Figs. 1 and 2b: statistics of saved models (penultimate norms, Jacobian norms; papers/alasca/jacobian.py),
# computed in one cheap step per target from its runs' seed-<k>/model.pt, in place of the generic
# aggregation (the per-sample table is the target's curves.csv). It rebuilds the runs' training data,
# so it reads the same data (the stand-in at smoke scale) as their training jobs.
MODEL_STATS_TARGETS = [name for name, exp in EXPERIMENTS.items() if exp.aggregate == "alasca_model_stats"]


rule alasca_model_stats:
    input:
        runs=target_runs,
        data=lambda wildcards: job_data(wildcards.scale, first_cell_job(wildcards)),
    output:
        curves=paths.CURVES,
        aggregate=paths.AGGREGATE,
    wildcard_constraints:
        target=one_of(MODEL_STATS_TARGETS),
    params:
        runtime=lambda wildcards: job_runtime(wildcards.scale, first_cell_job(wildcards)),
    resources:
        gpu=lambda wildcards: PLAN.resources(wildcards.scale, first_cell_job(wildcards)).get("gpu", 0),
    log:
        paths.AGGREGATE_LOG,
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro alasca-model-stats --target {wildcards.target} --scale {wildcards.scale}"
        " --runtime {params.runtime:q} --curves {output.curves:q} --aggregate {output.aggregate:q}"
        " > {log:q} 2>&1"


ruleorder: alasca_model_stats > aggregate
