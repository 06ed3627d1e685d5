"""Seed 003 — Cornacchia et al., regularization by misclassification in ReLU networks.

settings.py      the hypercube runs' settings (trainer `sparsity`)
trainer.py       batched one-hidden-layer ReLU nets on the hypercube boundary task, SGD at batch size 1
batched_mlp.py   R independent networks as stacked tensors (one SGD step updates all runs)
metrics.py       binary error, logistic loss, typical number of active neurons (Definition 1)
stopping.py      §6.3's stopping rule: zero clean training error, then a stable test error
aggregate.py     aggregation: every run at its stopping step (`sparsity_at_stop`)
render.py        Fig. 1
"""

from labelrepro.papers.sparsity import aggregate, render, settings  # noqa: F401  (they register themselves)
