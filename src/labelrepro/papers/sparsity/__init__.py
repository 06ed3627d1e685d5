"""Seed 003 — Cornacchia et al., regularization by misclassification in ReLU networks.

settings.py      settings of the trainers `sparsity` (hypercube, Fig. 1), `sparsity_noise` (pure label
                 noise, Figs. 2-4), `sparsity_thm4` (Theorems 3-4), `sparsity_mnist` (Figs. 5-6)
trainer.py       batched one-hidden-layer ReLU nets on the hypercube boundary task, SGD at batch size 1
batched_mlp.py   R independent networks as stacked tensors (one SGD step updates all runs)
pure_noise.py    Figs. 2-4: a single neuron / one-hidden-layer net under pure label noise
theorem4.py      Theorems 3-4: standard-basis inputs, fixed +-1 output layer, hinge loss
mnist.py         Fig. 5 and Appendix F: 784-600-10 on MNIST, Eq. 3's ten logistic losses
metrics.py       binary error, logistic loss, typical number of active neurons (Definition 1)
stopping.py      §6.3's stopping rule: zero clean training error, then a stable test error
aggregate.py     aggregators: `sparsity_at_stop` (Fig. 1), `sparsity_noise_summary`, `sparsity_thm4_summary`,
                 `sparsity_mnist_summary`
render.py        Figs. 1-5 (Fig. 6 on Fig. 5's page) and the Theorem 3-4 figure
"""

from labelrepro.papers.sparsity import aggregate, render, settings  # noqa: F401  (they register themselves)
