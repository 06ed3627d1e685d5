# Seed 000 (Becker & Risse): random label prediction heads on CIFAR.
# One job per (grid point, seed); a GPU per job at paper scale (`gpu` from the experiment's resources).


rule random_labels_train:
    output:
        directory("results/{target}/{scale}/runs/{cell}"),
    wildcard_constraints:
        target=targets_of("000"),
    params:
        spec=cell_spec,
        runtime=RUNTIME,
    resources:
        runtime=cell_resource("runtime", per_attempt=True),
        mem_mb=cell_resource("mem_mb"),
        cpus_per_task=cell_resource("cpus_per_task", 1),
        gpu=cell_resource("gpu", 0),
    threads: 1
    log:
        "logs/{target}/{scale}/runs/{cell}.log",
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro train --spec {params.spec:q} --runtime {params.runtime:q} --out {output:q}"
        " 2>&1 | tee {log:q}"
