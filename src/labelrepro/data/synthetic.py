"""Synthetic datasets of seed 003 (Cornacchia et al.): hypercube boundary, Gaussian inputs, standard basis.

They are generated on the fly from a `torch.Generator`, so a run's data is a pure function of its seed
and never needs to be stored or downloaded.
"""

from __future__ import annotations

import torch


def sample_cube_surface(n: int, d: int, radius: float, generator: torch.Generator) -> torch.Tensor:
    """Draw `n` points uniformly from the surface {x in R^d : ||x||_inf = radius}.

    The surface consists of 2d congruent faces, so a uniform point is a uniformly chosen face
    (coordinate i, sign s) with x_i = s*radius and every other coordinate uniform in [-radius, radius].
    """
    if n < 0 or d < 1 or radius <= 0:
        raise ValueError(f"need n >= 0, d >= 1, radius > 0; got n={n}, d={d}, radius={radius}")
    x = (torch.rand(n, d, generator=generator) * 2.0 - 1.0) * radius
    face = torch.randint(0, d, (n,), generator=generator)
    sign = torch.randint(0, 2, (n,), generator=generator).to(x.dtype) * 2.0 - 1.0
    x[torch.arange(n), face] = sign * radius
    return x


def hypercube_boundary_dataset(
    n: int, d: int, eps: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample the hypercube boundary task: D = 1/2 U(C_1) + 1/2 U(C_{-1}).

    C_1 is the unit cube surface (label +1), C_{-1} the surface at ||x||_inf = 1 - eps (label -1).
    Each sample picks its class by a fair coin, as the mixture D prescribes.
    Returns inputs (n, d) float32 and labels (n,) float32 in {-1, +1}.
    """
    if not 0.0 < eps < 1.0:
        raise ValueError(f"eps must lie in (0, 1), got {eps}")
    labels = torch.randint(0, 2, (n,), generator=generator).to(torch.float32) * 2.0 - 1.0
    unit = sample_cube_surface(n, d, 1.0, generator)
    radius = torch.where(labels > 0, 1.0, 1.0 - eps).unsqueeze(1)
    return unit * radius, labels


def gaussian_inputs(n: int, d: int, generator: torch.Generator) -> torch.Tensor:
    """x ~ N(0, I_d): the input distribution of seed 003's pure-noise experiments (Figs. 2-4)."""
    return torch.randn(n, d, generator=generator)


def standard_basis(d: int) -> torch.Tensor:
    """The d standard basis vectors e_1..e_d as rows: the input set of Theorems 3 and 4."""
    return torch.eye(d)
