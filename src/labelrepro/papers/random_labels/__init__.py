"""Seed 000 — Becker & Risse, random label prediction heads: measuring memorisation (Figs. 1B, 2, 3A-C,
A.1-A.3).

settings.py   one run's settings (trainer `random_labels`)
trainer.py    a backbone (VGG16 / WRN-16-4) with class head and random-label heads, one seed per job
heads.py      the random-label heads, copy depth, gradient routing and the three losses
render.py     Figs. 1B, 2, 3A, 3B+C, A.1, A.2, A.3
"""

from labelrepro.papers.random_labels import render, settings  # noqa: F401  (they register themselves)
