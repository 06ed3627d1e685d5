"""Optimiser-side methods (update rules that act on gradients rather than on the loss)."""
