"""The noise the prior learns to remove: unit-variance noise, white or correlated, masked and Rician."""

from __future__ import annotations

import numpy as np
import pytest

from services.n2n.prior.corruption import MAX_SIGMA, Corruption, corrupt, draw_corruption, unit_noise

SHAPE = (64, 64, 64)
"""Large enough that the variance of correlated noise is measured within about 1 %."""


def neighbour_correlation(noise: np.ndarray, axis: int) -> float:
    """Pearson correlation of every voxel with its next neighbour along `axis`."""
    first = np.moveaxis(noise, axis, 0)[:-1].ravel()
    second = np.moveaxis(noise, axis, 0)[1:].ravel()
    return float(np.corrcoef(first, second)[0, 1])


@pytest.mark.parametrize("correlation", [0.0, 0.5, 1.0, 1.5])
def test_unit_noise_has_unit_variance(correlation: float) -> None:
    """White or smoothed, the noise is rescaled so sigma means the same thing for every kind."""
    noise = unit_noise(SHAPE, correlation, np.random.default_rng(0))
    assert noise.shape == SHAPE
    assert float(np.mean(noise)) == pytest.approx(0.0, abs=0.05)
    assert float(np.var(noise)) == pytest.approx(1.0, rel=0.04)


def test_white_noise_is_uncorrelated_between_neighbours() -> None:
    noise = unit_noise(SHAPE, 0.0, np.random.default_rng(1))
    for axis in range(3):
        assert abs(neighbour_correlation(noise, axis)) < 0.02


def test_correlated_noise_is_correlated_between_neighbours() -> None:
    """Smoothed noise, as after k-space filtering or interpolation: neighbours share much of it, on every axis."""
    noise = unit_noise(SHAPE, 1.0, np.random.default_rng(2))
    for axis in range(3):
        # Gaussian smoothing by s voxels correlates neighbours by exp(-1 / (4 s^2)): 0.78 at s = 1.
        assert neighbour_correlation(noise, axis) == pytest.approx(np.exp(-0.25), abs=0.05)
    weaker = unit_noise(SHAPE, 0.5, np.random.default_rng(2))
    assert neighbour_correlation(weaker, 0) < neighbour_correlation(noise, 0)


def phantom() -> np.ndarray:
    """A (5, 48, 48) stack: a bright disc on a zero background, with a dim rim below the mask threshold."""
    y, x = np.mgrid[:48, :48]
    radius = np.hypot(y - 24, x - 24)
    image = np.where(radius < 16, 0.6, np.where(radius < 18, 0.01, 0.0)).astype(np.float32)
    return np.repeat(image[None], 5, axis=0)


@pytest.mark.parametrize("rician", [False, True])
def test_masked_background_is_exactly_zero(rician: bool) -> None:
    """Scanners zero the air: where the clean image is below 2 % of the range the noisy one is exactly 0."""
    clean = phantom()
    noisy = corrupt(clean, Corruption(sigma=20 / 255, rician=rician, masked=True), np.random.default_rng(3))
    assert noisy.dtype == np.float32 and noisy.shape == clean.shape
    background = clean < 0.02
    assert np.all(noisy[background] == 0.0)
    # ... and only there: the anatomy keeps its noise.
    assert np.all(noisy[~background] != 0.0)
    assert float(np.std(noisy[~background] - clean[~background])) == pytest.approx(20 / 255, rel=0.1)


def test_unmasked_background_carries_noise() -> None:
    clean = phantom()
    noisy = corrupt(clean, Corruption(sigma=20 / 255), np.random.default_rng(4))
    background = clean == 0.0
    assert float(np.std(noisy[background])) == pytest.approx(20 / 255, rel=0.05)
    assert float(np.min(noisy[background])) < 0.0  # Gaussian noise: negative air values


def test_rician_output_is_a_non_negative_magnitude() -> None:
    """Magnitude images: never negative, and the air is Rayleigh (mean sigma sqrt(pi / 2)), not zero-mean."""
    clean = phantom()
    sigma = 30 / 255
    noisy = corrupt(clean, Corruption(sigma=sigma, rician=True), np.random.default_rng(5))
    assert float(noisy.min()) >= 0.0
    background = clean == 0.0
    assert float(np.mean(noisy[background])) == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.05)


def test_rician_correlated_output_is_non_negative() -> None:
    clean = phantom()
    corruption = Corruption(sigma=40 / 255, rician=True, correlation=1.0, nonstationary=0.3)
    noisy = corrupt(clean, corruption, np.random.default_rng(6))
    assert np.all(np.isfinite(noisy)) and float(noisy.min()) >= 0.0


def test_non_stationary_noise_varies_in_space_at_the_same_mean_power() -> None:
    """A g-factor map: the noise is stronger in some places than others, its mean power still sigma^2."""
    clean = np.zeros((32, 64, 64), dtype=np.float32)
    sigma = 20 / 255
    noisy = corrupt(clean, Corruption(sigma=sigma, nonstationary=0.4), np.random.default_rng(7))
    assert float(np.sqrt(np.mean(noisy.astype(np.float64) ** 2))) == pytest.approx(sigma, rel=0.05)
    octants = [
        float(np.std(noisy[z : z + 16, y : y + 32, x : x + 32]))
        for z in (0, 16)
        for y in (0, 32)
        for x in (0, 32)
    ]
    assert max(octants) / min(octants) > 1.2
    stationary = corrupt(clean, Corruption(sigma=sigma), np.random.default_rng(7))
    flat = [float(np.std(stationary[z : z + 16, y : y + 32])) for z in (0, 16) for y in (0, 32)]
    assert max(flat) / min(flat) < 1.05


def test_drawn_corruptions_cover_the_levels_and_kinds() -> None:
    """Levels 0-45 on the 0-255 scale, the told level near the true one, every kind of realism drawn."""
    rng = np.random.default_rng(8)
    drawn = [draw_corruption(rng) for _ in range(2000)]
    sigmas = np.array([c.sigma for c in drawn])
    assert sigmas.min() >= 0.0 and sigmas.max() <= MAX_SIGMA
    assert sigmas.max() > 40 / 255 and sigmas.min() < 5 / 255
    for corruption in drawn:
        if corruption.sigma > 1e-3:
            assert 0.5 < corruption.told / corruption.sigma < 2.0
    assert any(c.told == c.sigma for c in drawn) and any(c.told != c.sigma for c in drawn)
    for kind in ("rician", "masked"):
        share = np.mean([getattr(c, kind) for c in drawn])
        assert 0.05 < share < 0.5
    assert 0.05 < np.mean([c.correlation > 0 for c in drawn]) < 0.5
    assert 0.05 < np.mean([c.nonstationary > 0 for c in drawn]) < 0.5
    assert np.mean([c.rician or c.masked or c.correlation > 0 or c.nonstationary > 0 for c in drawn]) < 0.9
