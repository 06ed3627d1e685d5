# Seed 001 (Harutyunyan et al.): LIMIT and baselines on MNIST. One run = one configuration on all 5
# splits (`batch_seeds: true`); FW/DMI runs take their CE run's folder as an input (LimitSettings.required_runs).


use rule train_run as limit_train with:
    wildcard_constraints:
        trainer="limit",
        run=none_of(PACKED_RUNS),
