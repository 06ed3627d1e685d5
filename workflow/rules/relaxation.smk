# Seed 004 (Lienen & Hüllermeier): label relaxation. `relax_simplex` evaluates the losses on the simplex
# (no training, relax_fig1); `relax_mlp` trains every seed x loss x strength of one dataset and phase in
# one job (batched MLPs; relax_table and relax_reliability read the same runs).


use rule train_run as relax_simplex_train with:
    wildcard_constraints:
        trainer="relax_simplex",
        run=none_of(PACKED_RUNS),


use rule train_run as relax_mlp_train with:
    wildcard_constraints:
        trainer="relax_mlp",
        run=none_of(PACKED_RUNS),
