# Seed 003 (Cornacchia et al.): misclassification and sparsity.
# Tiny networks: every job trains all seeds of one grid point together on CPU (batched tensors);
# the SLURM profile packs several of these jobs into one cluster job (group `sparsity`).


use rule train_cell as sparsity_train with:
    wildcard_constraints:
        target=targets_of("003"),
