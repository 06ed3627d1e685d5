"""Seed 003 — Cornacchia et al., regularization by misclassification in ReLU networks.

settings.py      the hypercube runs' settings (trainer `sparsity`)
trainer.py       batched one-hidden-layer ReLU nets on the hypercube boundary task, SGD at batch size 1
batched_mlp.py   R independent networks as stacked tensors (one SGD step updates all runs)
metrics.py       binary error, logistic loss, typical number of active neurons (Definition 1)
render.py        Fig. 1
"""

from labelrepro.papers.sparsity import render, settings  # noqa: F401  (they register themselves)
