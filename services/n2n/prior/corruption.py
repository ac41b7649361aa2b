"""The noise the prior learns to remove: the kinds real scans carry, at every level, told or mistold.

A prior trained on white Gaussian noise alone fails on real scans (the summary of issue 20 measured a default
fit that made a real EPI volume 6 dB worse): reconstructed MRI noise is Rician in magnitude images,
spatially correlated after k-space filtering and interpolation, non-stationary under parallel imaging
(the g-factor), and the background is often masked to exact zeros. Each training crop draws one such
corruption; the level the network is told is jittered around the true one, as an estimate would be.
All levels are on the normalised scale ([0, 1] ~ 0-255).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

MAX_SIGMA = 45.0 / 255.0
"""Levels are drawn up to 45 on the 0-255 scale: the issue's 0-40, with a margin for estimates above it."""


@dataclass(frozen=True)
class Corruption:
    """How one crop is corrupted."""

    sigma: float
    """Standard deviation of the noise (of each channel for Rician), normalised scale."""
    rician: bool = False
    correlation: float = 0.0
    """Gaussian smoothing (voxels) of the noise before it is rescaled to unit variance; 0 = white."""
    nonstationary: float = 0.0
    """Spread of the log of a smooth gain map on the noise (a g-factor); 0 = stationary."""
    masked: bool = False
    """Background (clean below 2 % of the range) set to exactly 0 after the noise, as scanners often do."""
    told: float = 0.0
    """The level the network is told: sigma, jittered as an estimate would be."""


TOLD_SHARE = 0.35
"""Share of crops whose told level is jittered (the shipped prior's first run)."""
TOLD_SPREAD = 0.12
"""Standard deviation of the log of the jitter factor: 0.12 is an estimate's error; 0.35 puts a quarter of
the jittered crops beyond 1.5x or below 0.67x, as a single-volume estimate on a real scan can be."""


def draw_corruption(
    rng: np.random.Generator, told_share: float = TOLD_SHARE, told_spread: float = TOLD_SPREAD
) -> Corruption:
    """One random corruption: uniform levels, then each kind of realism with its own probability."""
    sigma = float(rng.uniform(0.0, MAX_SIGMA))
    jittered = rng.random() < told_share
    told = sigma * float(np.exp(rng.normal(0.0, told_spread))) if jittered else sigma
    return Corruption(
        sigma=sigma,
        rician=bool(rng.random() < 0.3),
        correlation=float(rng.uniform(0.4, 1.2)) if rng.random() < 0.25 else 0.0,
        nonstationary=float(rng.uniform(0.1, 0.4)) if rng.random() < 0.2 else 0.0,
        masked=bool(rng.random() < 0.15),
        told=told,
    )


def unit_noise(shape: tuple[int, ...], correlation: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of unit variance, white or smoothed by `correlation` voxels and rescaled exactly."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if correlation <= 0.0:
        return noise
    smoothed = ndimage.gaussian_filter(noise, sigma=correlation, mode="wrap")
    # The exact variance of white noise smoothed by the (sampled, normalised) Gaussian kernel: the sum of
    # its squared weights; measured on the crop it would vary from crop to crop.
    impulse = np.zeros(shape, dtype=np.float32)
    impulse[tuple(n // 2 for n in shape)] = 1.0
    kernel = ndimage.gaussian_filter(impulse, sigma=correlation, mode="wrap")
    return smoothed / np.sqrt(float(np.sum(kernel.astype(np.float64) ** 2)))


def corrupt(clean: np.ndarray, corruption: Corruption, rng: np.random.Generator) -> np.ndarray:
    """`clean` (a slice stack, normalised) with the corruption's noise."""
    shape = clean.shape
    gain: np.ndarray | float = 1.0
    if corruption.nonstationary > 0.0:
        field = ndimage.zoom(rng.standard_normal((4,) * len(shape)), [n / 4 for n in shape], order=1)
        gain = np.exp(corruption.nonstationary * field[tuple(slice(0, n) for n in shape)])
        gain = (gain / np.sqrt(np.mean(gain**2))).astype(np.float32)  # the mean noise power stays sigma^2
    real = corruption.sigma * gain * unit_noise(shape, corruption.correlation, rng)
    if corruption.rician:
        imaginary = corruption.sigma * gain * unit_noise(shape, corruption.correlation, rng)
        noisy = np.sqrt((clean + real) ** 2 + imaginary**2)
    else:
        noisy = clean + real
    if corruption.masked:
        noisy = np.where(clean < 0.02, 0.0, noisy)
    return noisy.astype(np.float32)
