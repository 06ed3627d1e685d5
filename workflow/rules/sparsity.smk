# Seed 003 (Cornacchia et al.): misclassification and sparsity.
# Tiny networks: every job trains all seeds of one grid point together on CPU (batched tensors).


rule sparsity_train:
    output:
        directory("results/{target}/{scale}/runs/{cell}"),
    wildcard_constraints:
        target=targets_of("003"),
    params:
        spec=cell_spec,
        runtime=RUNTIME,
    resources:
        runtime=cell_resource("runtime", per_attempt=True),
        mem_mb=cell_resource("mem_mb"),
        cpus_per_task=cell_resource("cpus_per_task", 1),
    threads: 1
    log:
        "logs/{target}/{scale}/runs/{cell}.log",
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro train --spec {params.spec:q} --runtime {params.runtime:q} --out {output:q}"
        " 2>&1 | tee {log:q}"
