"""Losses used by two or more papers (a loss of one paper lives in that paper's package).

`label_smoothing`: both label-smoothing conventions (seeds 000, 002, 003, 004), scalar or per-sample.
"""
