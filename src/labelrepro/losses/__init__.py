"""Losses used by two or more papers (a loss of one paper lives in that paper's package). Empty until a
second paper shares one: label smoothing (seeds 000, 002, 003, 004) is the first to come."""
