# Seed 002 (Ko, Yi & Yun, ALASCA): ResNet-34 on noisy CIFAR-10 (Tables 3 and 4).
# One job per (noise, method/AC variant, seed); a GPU per job at paper scale (`gpu` in the experiment's
# resources).


use rule train_cell as alasca_train with:
    wildcard_constraints:
        target=targets_of("002"),
