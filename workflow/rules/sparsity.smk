# Seed 003 (Cornacchia et al.): misclassification and sparsity. Tiny networks: a run trains all seeds
# of one grid point together on CPU (batched tensors); the SLURM profile packs several of these jobs
# into one cluster job (group `sparsity`).


use rule train_run as sparsity_train with:
    wildcard_constraints:
        trainer="sparsity|sparsity_noise|sparsity_thm4|sparsity_mnist|sparsity_cifar",
        run=none_of(PACKED_RUNS),
