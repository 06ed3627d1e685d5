"""Batched data augmentation that runs on the tensors' own device.

Why not ``torchvision.transforms``: those operate per sample (usually on PIL images in DataLoader workers),
which is exactly the per-sample path :mod:`labelrepro.data.vision` avoids by keeping whole datasets on
the training device. The functions here transform a whole ``(B, C, H, W)`` batch with a handful of
vectorised tensor ops and no Python loop over samples.

Randomness contract: every random draw comes from the caller-supplied :class:`torch.Generator` and is
made on the *generator's* device (normally the CPU), then moved to the batch's device. The augmentation
of a batch is therefore a function of the generator state alone, independent of whether the batch lives
on CPU or GPU, and the global RNG is never touched.

No function modifies its input in place; outputs keep the input's shape, dtype
and device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["DeviceAugment", "cutout", "random_crop", "random_hflip"]


def _check_batch(x: torch.Tensor, fn: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{fn} expects a (B, C, H, W) batch, got shape {tuple(x.shape)}")


def _randint(high: int, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """``n`` integers uniform in ``[0, high)`` drawn on the generator's device, returned on ``device``."""
    return torch.randint(0, high, (n,), generator=generator, device=generator.device).to(device)


def random_crop(
    x: torch.Tensor,
    padding: int,
    generator: torch.Generator,
    fill: float | Sequence[float] = 0.0,
) -> torch.Tensor:
    """Pad every side by ``padding`` and cut a random ``H x W`` window per sample (CIFAR-style crop).

    The per-sample offsets ``(dy, dx)`` are uniform in ``[0, 2 * padding]`` (drawn as dy for all samples,
    then dx), so the sample is shifted by ``padding - dy`` rows and ``padding - dx`` columns. The window
    is read with one advanced-indexing gather from the padded batch, so the cost is independent of B's
    Python-level size.

    Args:
        x: Float batch ``(B, C, H, W)``.
        padding: Pixels of padding on each side; 0 returns ``x`` unchanged (no random draws).
        generator: Source of the offsets.
        fill: Value of the padded border, a scalar or one value per channel. Note that on *normalised*
            data the default 0.0 is the dataset mean; pass ``DatasetInfo.normalized_black`` to reproduce
            torchvision's black padding of un-normalised images.

    Returns:
        The cropped batch, same shape/dtype/device as ``x``.
    """
    _check_batch(x, "random_crop")
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    if padding == 0:
        return x
    B, C, H, W = x.shape
    p = int(padding)
    fill_t = torch.as_tensor(fill, dtype=x.dtype, device=x.device)
    if fill_t.ndim > 1 or (fill_t.ndim == 1 and fill_t.numel() != C):
        raise ValueError(f"fill must be a scalar or have one value per channel ({C}), got {fill}")
    padded = torch.empty((B, C, H + 2 * p, W + 2 * p), dtype=x.dtype, device=x.device)
    padded.copy_(fill_t.view(1, -1, 1, 1) if fill_t.ndim == 1 else fill_t)
    padded[:, :, p : p + H, p : p + W] = x

    dy = _randint(2 * p + 1, B, generator, x.device)
    dx = _randint(2 * p + 1, B, generator, x.device)
    rows = dy[:, None] + torch.arange(H, device=x.device)  # (B, H)
    cols = dx[:, None] + torch.arange(W, device=x.device)  # (B, W)
    b_idx = torch.arange(B, device=x.device)[:, None, None, None]
    c_idx = torch.arange(C, device=x.device)[None, :, None, None]
    return padded[b_idx, c_idx, rows[:, None, :, None], cols[:, None, None, :]]


def random_hflip(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Mirror each sample left-right independently with probability ``p``.

    One uniform number per sample is always drawn (also for p in {0, 1}), so the generator advances by
    the same amount whatever ``p`` is and later draws stay aligned across configurations.
    """
    _check_batch(x, "random_hflip")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    u = torch.rand((x.shape[0],), generator=generator, device=generator.device).to(x.device)
    flip = (u < p).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(-1), x)


def cutout(x: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Zero one ``size x size`` square per sample (all channels), DeVries & Taylor (2017) style.

    The centre ``(cy, cx)`` is uniform over all pixels (drawn as cy for all samples, then cx), so the
    square may hang over the border and is clipped there; this is the original paper's choice and makes
    the expected erased area smaller near the edges. The square covers rows
    ``[cy - size // 2, cy - size // 2 + size)`` (likewise columns): exactly ``size * size`` pixels for an
    interior centre, for odd *and* even sizes. (The reference implementation's ``cy +- size // 2`` covers
    ``(size - 1)^2`` pixels for odd sizes; for the even sizes used in practice, 16 on CIFAR-10 and 8 on
    CIFAR-100, both agree.) Zero is the dataset mean on normalised data, as in the original, which applies
    cutout after normalisation.

    Args:
        x: Float batch ``(B, C, H, W)``.
        size: Side of the square; 0 returns ``x`` unchanged (no random draws).
        generator: Source of the centres.
    """
    _check_batch(x, "cutout")
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    if size == 0:
        return x
    B, _, H, W = x.shape
    cy = _randint(H, B, generator, x.device)
    cx = _randint(W, B, generator, x.device)
    y0 = (cy - size // 2)[:, None]
    x0 = (cx - size // 2)[:, None]
    rows = torch.arange(H, device=x.device)[None, :]
    cols = torch.arange(W, device=x.device)[None, :]
    in_rows = (rows >= y0) & (rows < y0 + size)  # (B, H)
    in_cols = (cols >= x0) & (cols < x0 + size)  # (B, W)
    mask = in_rows[:, :, None] & in_cols[:, None, :]  # (B, H, W)
    return x.masked_fill(mask[:, None, :, :], 0.0)


_CONFIG_KEYS: tuple[str, ...] = ("crop_padding", "hflip", "cutout")


def _non_negative_int(value: Any, what: str) -> int:
    # bool is an int subclass; `crop_padding: true` in a YAML config is a mistake worth reporting.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}")
    return value


@dataclass(frozen=True)
class DeviceAugment:
    """The standard small-image augmentation stack as one ``(x, generator) -> x`` callable.

    Applies random crop, then horizontal flip, then cutout (the order of the DeVries & Taylor CIFAR
    pipeline). Each stage draws from the generator only when enabled, so an all-off instance is an exact
    no-op that leaves the generator untouched; that keeps "no augmentation" runs bit-identical to runs
    that never constructed an augmenter.

    Attributes:
        crop_padding: Padding of :func:`random_crop` (0 disables it).
        hflip: Whether to apply :func:`random_hflip` with p = 0.5.
        cutout_size: Side of the :func:`cutout` square (0 disables it).
        crop_fill: Border value of the crop (scalar or per channel); see :func:`random_crop`.
    """

    crop_padding: int = 0
    hflip: bool = False
    cutout_size: int = 0
    crop_fill: float | tuple[float, ...] = 0.0

    def __post_init__(self) -> None:
        _non_negative_int(self.crop_padding, "crop_padding")
        _non_negative_int(self.cutout_size, "cutout_size")
        if not isinstance(self.hflip, bool):
            raise ValueError(f"hflip must be a bool, got {self.hflip!r}")

    @property
    def is_identity(self) -> bool:
        """True when every stage is disabled."""
        return self.crop_padding == 0 and not self.hflip and self.cutout_size == 0

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any] | None,
        *,
        crop_fill: float | tuple[float, ...] = 0.0,
    ) -> DeviceAugment:
        """Build from an experiment-config mapping with optional keys ``crop_padding``, ``hflip``, ``cutout``.

        Unknown keys raise ``ValueError`` naming them: a misspelt key would otherwise silently disable an
        augmentation and change the experiment. ``crop_fill`` is a keyword argument rather than a config
        key because it depends on the dataset's normalisation, not on the experiment.
        """
        config = {} if config is None else config
        unknown = sorted(set(config) - set(_CONFIG_KEYS))
        if unknown:
            raise ValueError(
                f"unknown augmentation config key(s): {', '.join(map(str, unknown))}; "
                f"allowed keys are: {', '.join(_CONFIG_KEYS)}"
            )
        return cls(
            crop_padding=_non_negative_int(config.get("crop_padding", 0), "crop_padding"),
            hflip=config.get("hflip", False),
            cutout_size=_non_negative_int(config.get("cutout", 0), "cutout"),
            crop_fill=crop_fill,
        )

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Augment batch ``x`` (B, C, H, W) with randomness from ``generator``."""
        if self.crop_padding:
            x = random_crop(x, self.crop_padding, generator, fill=self.crop_fill)
        if self.hflip:
            x = random_hflip(x, generator)
        if self.cutout_size:
            x = cutout(x, self.cutout_size, generator)
        return x
