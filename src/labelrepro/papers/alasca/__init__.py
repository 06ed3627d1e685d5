"""Seed 002 — Ko, Yi & Yun, ALASCA: adaptive label smoothing with self-knowledge on auxiliary
classifiers (Tables 3 and 4).

methods.py     the tables' methods (Standard, ULS(+AC), ALS(+AC/EMA), ALASCA, HAR, CDR), one class each:
               table labels, ACs or not, EMA or not, the per-batch objective
settings.py    one run's settings (trainer `alasca`): method, noise, AC architecture and position
trainer.py     ResNet-34 (+ auxiliary classifiers) on noisy CIFAR, driven by the method's hooks
losses.py      adaptive label smoothing, EMA confidence, ULS, the ALASCA* ensemble
auxiliary.py   the auxiliary classifiers (MLP, bottleneck, residual) after the ResNet stages
har.py         HAR (Cao et al. 2021), a Table-3 baseline
cdr.py         CDR (Xia et al. 2021), a Table-3 baseline
render.py      Tables 3 and 4 in the paper's layout
confidence.py  Fig. 3's per-epoch clean/noisy confidence statistics (`log_confidence`)
jacobian.py    Figs. 1 and 2b: penultimate and Jacobian norms of saved models (a separate DAG step)
figures.py     Figs. 1, 2b and 3: aggregators and renderers
clothing1m.py  Clothing1M's layout and loader, its one missing-data error, the FAKE copy writer (Table 2)
clothing1m_data.py  Table 2's batches: per-epoch class-balanced draw, the authors' transforms, a stage
resnet50.py    Table 2's ResNet-50 (ImageNet weights) with the official branch ACs after layer1-3
"""

from labelrepro.papers.alasca import figures, methods, render, settings  # noqa: F401  (they register)
