# Seed 002 (Ko, Yi & Yun, ALASCA): ResNet-34 on noisy CIFAR-10. One run (one seed) per job; a GPU per
# job at paper scale.


use rule train_run as alasca_train with:
    wildcard_constraints:
        trainer="alasca",
        run=none_of(PACKED_RUNS),
