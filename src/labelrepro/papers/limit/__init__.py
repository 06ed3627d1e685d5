"""Seed 001 — Harutyunyan et al., LIMIT: improving generalization by controlling label-noise
information in neural network weights (supplement Tables 4-7).

methods.py     the table's methods (CE, CE+GN/LN, MAE, FW, DMI, soft reg., LIMIT_G/L ± S), one class each
settings.py    one configuration's settings (trainer `limit`); FW/DMI require their CE run
trainer.py     trains one configuration on every split of its job (early stopping on validation)
losses.py      LIMIT's predicted-gradient surrogate and q losses; the baselines' losses
mnist_net.py   the Table-3 MNIST convnet (classifier and gradient predictor q)
data.py        the official train/validation splits and uniform label noise
selection.py   aggregation: per column, the configuration with the best mean validation accuracy
render.py      Tables 4-7 in the paper's layout
curves.py      Fig. A0: accuracy curves of LIMIT - S for several beta (aggregation and figure)
gradient_stats.py  Figs. A1-A3: per-example predicted-gradient statistics of saved nets (a separate step)
gradient_figures.py  Figs. A1-A3: histograms and the confusing-label grid
"""

from labelrepro.papers.limit import (  # noqa: F401  (they register)
    curves,
    gradient_figures,
    gradient_stats,
    methods,
    render,
    selection,
    settings,
)
