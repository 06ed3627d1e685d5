"""Tests for labelrepro.data.augment: hand-checked expectations for the batched augmentations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from labelrepro.data.augment import DeviceAugment, cutout, random_crop, random_hflip


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def ramp(batch: int) -> torch.Tensor:
    """``batch`` copies of the 1x4x4 ramp 0..15 (every pixel distinct, so every window is distinct)."""
    return torch.arange(1.0, 17.0).view(1, 1, 4, 4).repeat(batch, 1, 1, 1)


# --------------------------------------------------------------------------------------------------
# random_crop
# --------------------------------------------------------------------------------------------------


def test_crop_is_the_window_at_the_seeded_offsets() -> None:
    x = ramp(64)
    out = random_crop(x, 1, gen(5))
    padded = F.pad(x, (1, 1, 1, 1))  # zero padding
    g = gen(5)  # documented draw order: dy for all samples, then dx
    dy = torch.randint(0, 3, (64,), generator=g)
    dx = torch.randint(0, 3, (64,), generator=g)
    for i in range(64):
        expected = padded[i, :, dy[i] : dy[i] + 4, dx[i] : dx[i] + 4]
        assert torch.equal(out[i], expected)


def test_crop_output_is_one_of_the_possible_windows_and_all_occur() -> None:
    p = 1
    x = ramp(300)
    out = random_crop(x, p, gen(0))
    padded = F.pad(ramp(1), (p, p, p, p))[0]
    windows = [padded[:, i : i + 4, j : j + 4] for i in range(2 * p + 1) for j in range(2 * p + 1)]
    seen = set()
    for sample in out:
        matches = [k for k, w in enumerate(windows) if torch.equal(sample, w)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == set(range((2 * p + 1) ** 2))  # 9 windows, 300 draws: all appear
    # Hand check of one window: shift down-right by one (dy = dx = 0) puts the ramp at rows/cols 1..3.
    assert windows[0].tolist() == [[[0, 0, 0, 0], [0, 1, 2, 3], [0, 5, 6, 7], [0, 9, 10, 11]]]


def test_crop_per_channel_fill() -> None:
    x = torch.full((32, 3, 4, 4), 100.0)
    out = random_crop(x, 2, gen(1), fill=(-1.0, -2.0, -3.0))
    g = gen(1)
    dy = torch.randint(0, 5, (32,), generator=g)
    dx = torch.randint(0, 5, (32,), generator=g)
    for i in range(32):
        for c, f in enumerate((-1.0, -2.0, -3.0)):
            assert set(out[i, c].unique().tolist()) <= {100.0, f}
            inside = (4 - abs(2 - int(dy[i]))) * (4 - abs(2 - int(dx[i])))
            assert int((out[i, c] == 100.0).sum()) == inside
    with pytest.raises(ValueError, match="fill"):
        random_crop(x, 2, gen(), fill=(1.0, 2.0))


def test_crop_zero_padding_is_identity_and_draws_nothing() -> None:
    x = ramp(3)
    g = gen(0)
    state = g.get_state()
    assert random_crop(x, 0, g) is x
    assert torch.equal(g.get_state(), state)
    with pytest.raises(ValueError, match="padding"):
        random_crop(x, -1, g)


# --------------------------------------------------------------------------------------------------
# random_hflip
# --------------------------------------------------------------------------------------------------


def test_hflip_p1_flips_and_p0_is_identity() -> None:
    x = torch.randn(8, 3, 5, 6, generator=gen(9))
    assert torch.equal(random_hflip(x, gen(), p=1.0), torch.flip(x, dims=[-1]))
    assert torch.equal(random_hflip(x, gen(), p=0.0), x)
    with pytest.raises(ValueError, match="p must"):
        random_hflip(x, gen(), p=1.5)


def test_hflip_is_per_sample() -> None:
    x = torch.randn(1000, 1, 2, 3, generator=gen(9))
    out = random_hflip(x, gen(4), p=0.5)
    flipped = torch.tensor([torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x, strict=True)])
    kept = torch.tensor([torch.equal(o, xi) for o, xi in zip(out, x, strict=True)])
    assert torch.all(flipped ^ kept)
    assert 400 < int(flipped.sum()) < 600
    expected = torch.rand(1000, generator=gen(4)) < 0.5  # one uniform per sample
    assert torch.equal(flipped, expected)


# --------------------------------------------------------------------------------------------------
# cutout
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [3, 4])
def test_cutout_zeroes_the_clipped_square_around_the_seeded_centre(size: int) -> None:
    B, C, H, W = 400, 2, 10, 12
    x = torch.rand(B, C, H, W, generator=gen(7)) + 1.0  # strictly positive: zeros come from cutout only
    out = cutout(x, size, gen(11))
    g = gen(11)  # documented draw order: cy for all samples, then cx
    cy = torch.randint(0, H, (B,), generator=g)
    cx = torch.randint(0, W, (B,), generator=g)
    n_interior = n_border = 0
    for i in range(B):
        y0, x0 = int(cy[i]) - size // 2, int(cx[i]) - size // 2
        rows = range(max(y0, 0), min(y0 + size, H))
        cols = range(max(x0, 0), min(x0 + size, W))
        expected = x[i].clone()
        expected[:, rows.start : rows.stop, cols.start : cols.stop] = 0.0
        assert torch.equal(out[i], expected)
        zeroed_per_channel = int((out[i, 0] == 0).sum())
        if len(rows) == size and len(cols) == size:
            n_interior += 1
            assert zeroed_per_channel == size * size
        else:
            n_border += 1
            assert zeroed_per_channel < size * size
    assert n_interior > 0 and n_border > 0


def test_cutout_larger_than_image_and_zero_size() -> None:
    x = torch.ones(2, 1, 4, 4)
    assert torch.equal(cutout(x, 100, gen()), torch.zeros_like(x))
    assert cutout(x, 0, gen()) is x
    with pytest.raises(ValueError, match="size"):
        cutout(x, -2, gen())


# --------------------------------------------------------------------------------------------------
# Common properties and DeviceAugment
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_preserved_and_input_untouched(dtype: torch.dtype) -> None:
    x = torch.randn(6, 3, 8, 8, generator=gen(1)).to(dtype)
    before = x.clone()
    for out in (
        random_crop(x, 2, gen()),
        random_hflip(x, gen()),
        cutout(x, 4, gen()),
        DeviceAugment(2, True, 4)(x, gen()),
    ):
        assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    assert torch.equal(x, before)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        random_crop(x[0], 2, gen())


def test_device_augment_determinism_and_order() -> None:
    x = torch.randn(16, 3, 8, 8, generator=gen(2))
    aug = DeviceAugment(crop_padding=2, hflip=True, cutout_size=4)
    assert torch.equal(aug(x, gen(3)), aug(x, gen(3)))
    assert not torch.equal(aug(x, gen(3)), aug(x, gen(4)))
    g = gen(3)
    manual = cutout(random_hflip(random_crop(x, 2, g), g), 4, g)
    assert torch.equal(aug(x, gen(3)), manual)


def test_device_augment_all_off_is_noop() -> None:
    x = torch.randn(4, 1, 5, 5)
    g = gen(0)
    state = g.get_state()
    aug = DeviceAugment()
    assert aug.is_identity
    assert aug(x, g) is x
    assert torch.equal(g.get_state(), state)


def test_from_config() -> None:
    aug = DeviceAugment.from_config({"crop_padding": 4, "hflip": True, "cutout": 16})
    assert aug == DeviceAugment(crop_padding=4, hflip=True, cutout_size=16)
    assert DeviceAugment.from_config({}).is_identity
    assert DeviceAugment.from_config(None).is_identity
    assert DeviceAugment.from_config({"crop_padding": 4}, crop_fill=(-1.0,)).crop_fill == (-1.0,)
    with pytest.raises(ValueError, match="crop_pading") as excinfo:
        DeviceAugment.from_config({"crop_pading": 4, "hflip": True})
    assert "hflip" in str(excinfo.value)  # the allowed keys are listed too
    with pytest.raises(ValueError, match="crop_padding"):
        DeviceAugment.from_config({"crop_padding": True})
    with pytest.raises(ValueError, match="cutout"):
        DeviceAugment.from_config({"cutout": -1})
    with pytest.raises(ValueError, match="hflip"):
        DeviceAugment.from_config({"hflip": "yes"})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batch_with_cpu_generator_matches_cpu() -> None:
    """Draws happen on the CPU generator, so the result does not depend on where the batch lives."""
    x = torch.randn(32, 3, 8, 8, generator=gen(2))
    aug = DeviceAugment(crop_padding=2, hflip=True, cutout_size=4, crop_fill=(-1.0, -2.0, -3.0))
    on_cuda = aug(x.cuda(), gen(6))
    assert on_cuda.device.type == "cuda"
    assert torch.equal(on_cuda.cpu(), aug(x, gen(6)))
