# The training rule every paper file derives its own from (`use rule train_cell as <paper>_train with:`),
# adding the targets it trains and its resources. On its own it matches no target.


rule train_cell:
    input:
        data=cell_data,
    output:
        directory("results/{target}/{scale}/runs/{cell}"),
    wildcard_constraints:
        target=one_of([]),
    params:
        spec=cell_spec,
        runtime=cell_runtime,
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
