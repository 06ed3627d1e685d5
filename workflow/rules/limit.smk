# Seed 001 (Harutyunyan et al.): LIMIT and baselines on MNIST. One run = one configuration on all 5
# splits (`batch_seeds: true`); FW/DMI runs take their CE run's folder as an input (LimitSettings.required_runs).


use rule train_run as limit_train with:
    wildcard_constraints:
        trainer="limit",
        run=none_of(PACKED_RUNS),


# Figs. A1-A3: per-example gradient statistics of the best LIMIT instance of each case, from the runs'
# saved seed-<k>/best_nets.pt (papers/limit/gradient_stats.py), in one cheap step per target in place of
# the generic aggregation; the runs are the tables' (nothing is retrained). It rebuilds the runs'
# training data, so it reads each dataset's data (the stand-in at smoke scale) as their training jobs.
GRADIENT_STATS_TARGETS = [name for name, exp in EXPERIMENTS.items() if exp.aggregate == "limit_gradient_summary"]


rule limit_gradient_stats:
    input:
        runs=target_runs,
        data=lambda wildcards: sorted({d for job in dataset_jobs(wildcards).values()
                                       for d in job_data(wildcards.scale, job)}),
    output:
        curves=paths.CURVES,
        aggregate=paths.AGGREGATE,
    wildcard_constraints:
        target=one_of(GRADIENT_STATS_TARGETS),
    params:
        runtime=lambda wildcards: Untracked(json.dumps(
            {name: json.loads(str(job_runtime(wildcards.scale, job)))
             for name, job in dataset_jobs(wildcards).items()}, separators=(",", ":"))),
    resources:
        gpu=lambda wildcards: max(PLAN.resources(wildcards.scale, job).get("gpu", 0)
                                  for job in dataset_jobs(wildcards).values()),
    log:
        paths.AGGREGATE_LOG,
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro limit-gradient-stats --target {wildcards.target} --scale {wildcards.scale}"
        " --runtime {params.runtime:q} --curves {output.curves:q} --aggregate {output.aggregate:q}"
        " > {log:q} 2>&1"


ruleorder: limit_gradient_stats > aggregate
