# Data the workflow makes itself. Real datasets are downloaded by torchvision inside the training jobs
# (`download: true`); smoke-scale jobs read a synthetic stand-in by default (`smoke_data: standin`).


rule standin_dataset:
    output:
        directory(standin_dir("{dataset}")),
    wildcard_constraints:
        dataset="mnist|fashion_mnist|cifar10|cifar100|clothing1m",
    log:
        "logs/standin/{dataset}.log",
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "python -m labelrepro standin --dataset {wildcards.dataset} --out {output:q} > {log:q} 2>&1"
