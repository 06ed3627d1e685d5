"""Seeds and reproducibility switches.

Every random draw of a run comes from generators derived from the run's seed and a stream name, so that
(a) the data of seed k is the same for every method and noise level of a grid (paired comparisons), and
(b) a run gives the same numbers whether it is trained alone or batched with other runs.
"""

from __future__ import annotations

import hashlib
import os
import random

import numpy as np
import torch


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from arbitrary parts (Python's `hash` is salted per process, so not usable)."""
    digest = hashlib.sha256(repr(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


def make_generator(seed: int, stream: str) -> torch.Generator:
    """A CPU generator for one named random stream of one run (e.g. 'data', 'init', 'sgd')."""
    return torch.Generator().manual_seed(derive_seed(seed, stream))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) global generators for code that uses them."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def set_deterministic(enabled: bool) -> None:
    """Opt-in bitwise determinism on GPU; errors out on ops without a deterministic implementation.

    Off by default because deterministic kernels are slower; CPU training here is deterministic anyway.
    """
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled)
    torch.backends.cudnn.benchmark = not enabled
    torch.backends.cudnn.deterministic = enabled
