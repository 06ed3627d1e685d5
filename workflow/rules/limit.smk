# Seed 001 (Harutyunyan et al.): LIMIT and baselines on MNIST (Tables 4, 5).
# One job per configuration (method, hyperparameters, p, n) trains all 5 splits (`batch_seeds: true`).
# FW and DMI start from the best-validation CE model of their column: their jobs take that CE cell's
# directory as an input (its seed-<k>/best_model.pt), so Snakemake trains the CE cell first
# (labelrepro.trainers.limit_init; other methods get no extra input).
from labelrepro.trainers.limit_init import ce_inputs


use rule train_cell as limit_train with:
    input:
        data=cell_data,  # train_cell's input (the smoke-scale stand-in dataset), kept
        init=lambda wildcards: ce_inputs(EXPERIMENTS[wildcards.target], wildcards.scale, wildcards.cell),
    wildcard_constraints:
        target=targets_of("001"),
