"""Seed 004 — Lienen & Hüllermeier, from label smoothing to label relaxation (supplement).

methods.py       the compared losses (CE, LS, CP, FL, LR) and the strength each one tunes
losses.py        the losses per sample from logits (label relaxation's closed form, Eq. 5)
settings.py      settings of the simplex figure (`relax_simplex`) and of the table runs (`relax`)
simplex.py       the losses evaluated on a barycentric grid of the 3-class simplex (A.3)
batched_mlp.py   R independent 2 × 1024 ReLU MLPs as stacked tensors
calibration.py   ECE (15 equal-width bins) and reliability-diagram bins, for R runs at once
trainer.py       MNIST / Fashion-MNIST: every seed × loss × strength of one dataset in one job (batched)
cifar.py         CIFAR-10/100 with ResNet-56 v2, VGG16 (BN, dropout), DenseNet-BC-100, one network at a time
selection.py     aggregation: per seed and loss, the strength chosen on validation; its test run
render.py        Fig. 1 of A.3, the accuracy/ECE table, the reliability diagrams
"""

from labelrepro.papers.relaxation import methods, render, selection, settings  # noqa: F401  (they register)
