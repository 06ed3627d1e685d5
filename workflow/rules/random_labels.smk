# Seed 000 (Becker & Risse): random label prediction heads on CIFAR. One run (one seed) per job; a GPU
# per job at paper scale (`gpu` in the experiment's resources).


use rule train_run as random_labels_train with:
    wildcard_constraints:
        trainer="random_labels",
        run=none_of(PACKED_RUNS),
