# Seed 000 (Becker & Risse): random label prediction heads on CIFAR.
# One job per (grid point, seed); a GPU per job at paper scale (`gpu` in the experiment's resources).


use rule train_cell as random_labels_train with:
    wildcard_constraints:
        target=targets_of("000"),
