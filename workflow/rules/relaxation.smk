# Seed 004 (Lienen & Hüllermeier): label relaxation. `relax_simplex` evaluates the losses on the simplex
# (no training, relax_fig1); `relax` trains every seed x loss x strength of one dataset, model and
# phase in one job (batched MLPs; CIFAR networks one after the other; relax_table and relax_reliability
# read the same runs).


use rule train_run as relax_simplex_train with:
    wildcard_constraints:
        trainer="relax_simplex",
        run=none_of(PACKED_RUNS),


use rule train_run as relax_train with:
    wildcard_constraints:
        trainer="relax",
        run=none_of(PACKED_RUNS),
