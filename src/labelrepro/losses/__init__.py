"""Loss functions and gradient-surrogate helpers (LIMIT, seed 001, and its baselines)."""
