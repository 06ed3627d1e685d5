# Training. Every distinct run (a trainer and its resolved settings at a scale; labelrepro.experiment)
# is one folder, results/runs/<scale>/<trainer>/<run id>/, trained once whatever targets read it.
#
# - `train_run` trains one run per job. Each paper file derives its own rule from it
#   (`use rule train_run as <trainer>_train with:`), which SLURM profiles can group and size.
# - Where an experiment sets `runs_per_job` (tiny smoke-scale runs), its runs are trained several per
#   process by one generated rule per job (`<trainer>_pack_<target>_<k>`), written below.
# Run-time options (device, checkpoints, progress, threads) are passed untracked: they never re-train.


rule train_run:
    input:
        data=lambda wildcards: job_data(wildcards.scale, run_job(wildcards)),
        requires=lambda wildcards: PLAN.external_inputs(wildcards.scale, run_job(wildcards)),
    output:
        directory(paths.RUN_DIR),
    wildcard_constraints:
        trainer=one_of([]),
    params:
        spec=lambda wildcards: spec_json(PLAN.job_specs(wildcards.scale, run_job(wildcards))),
        runtime=lambda wildcards: job_runtime(wildcards.scale, run_job(wildcards)),
        labels=lambda wildcards: job_labels(wildcards.scale, run_job(wildcards)),
    resources:
        runtime=job_resource(run_job, "runtime", per_attempt=True),
        mem_mb=job_resource(run_job, "mem_mb"),
        cpus_per_task=job_resource(run_job, "cpus_per_task", 1),
        gpu=job_resource(run_job, "gpu", 0),
    threads: 1
    log:
        paths.TRAIN_LOG,
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro train --jobs {params.spec:q} --runtime {params.runtime:q}"
        " --labels {params.labels:q}"
        " 2>&1 | tee {log:q}"


PACKED = {scale: PLAN.packed_jobs(scale) for scale in ("smoke", "paper")}
PACKED_RUNS = sorted({run.id for jobs in PACKED.values() for job in jobs for run in job.runs})

for _scale, _jobs in PACKED.items():
    for _job in _jobs:

        rule:
            name:
                f"{_job.runs[0].trainer}_pack_{_job.name}"
            input:
                data=lambda wildcards, _s=_scale, _j=_job: job_data(_s, _j),  # lazily: checks data
                requires=PLAN.external_inputs(_scale, _job),
            output:
                [directory(run.dir) for run in _job.runs],
            params:
                spec=spec_json(PLAN.job_specs(_scale, _job)),
                runtime=job_runtime(_scale, _job),
                labels=job_labels(_scale, _job),
            resources:
                runtime=lambda wildcards, attempt, _s=_scale, _j=_job: PLAN.resources(_s, _j)["runtime"]
                * attempt,
                mem_mb=PLAN.resources(_scale, _job)["mem_mb"],
                cpus_per_task=PLAN.resources(_scale, _job).get("cpus_per_task", 1),
                gpu=PLAN.resources(_scale, _job).get("gpu", 0),
            threads: 1
            log:
                paths.PACK_LOG.format(scale=_scale, job=_job.name),
            conda:
                "../../environment.yml"
            shell:
                "python -m labelrepro train --jobs {params.spec:q} --runtime {params.runtime:q}"
                " --labels {params.labels:q}"
                " 2>&1 | tee {log:q}"
