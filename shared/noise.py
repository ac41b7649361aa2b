"""Synthetic noise on the normalised intensity scale, as in the paper.

`sigma` is always given on a 0-255 scale of the normalised range: sigma=20 adds noise of standard
deviation 20/255 to intensities in [0, 1]. Noise is never clipped, so its statistics stay exact.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

NoiseKind = Literal["gaussian", "rician"]

SIGMA_SCALE = 255.0
"""The paper states sigma on a 0-255 scale of the normalised [0, 1] range."""


def sigma_to_unit(sigma: float) -> float:
    """Standard deviation on the [0, 1] scale for a sigma on the 0-255 scale."""
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    return sigma / SIGMA_SCALE


def add_noise(
    clean: np.ndarray, sigma: float, rng: np.random.Generator, kind: NoiseKind = "gaussian"
) -> np.ndarray:
    """One noisy copy of normalised `clean` (float32).

    Gaussian: clean + N(0, s^2). Rician: |clean + N(0, s^2) + i N(0, s^2)|, the magnitude of complex
    Gaussian noise, which is what a magnitude MR image really carries.
    """
    s = sigma_to_unit(sigma)
    clean64 = np.asarray(clean, dtype=np.float64)
    real = clean64 + rng.normal(0.0, s, size=clean64.shape)
    if kind == "gaussian":
        return real.astype(np.float32)
    if kind == "rician":
        imag = rng.normal(0.0, s, size=clean64.shape)
        return np.hypot(real, imag).astype(np.float32)
    raise ValueError(f"unknown noise kind {kind!r}; expected 'gaussian' or 'rician'")


def noisy_pair(
    clean: np.ndarray, sigma: float, rng: np.random.Generator, kind: NoiseKind = "gaussian"
) -> tuple[np.ndarray, np.ndarray]:
    """Two independent noisy copies of the same clean image: one Noise2Noise training pair."""
    return add_noise(clean, sigma, rng, kind), add_noise(clean, sigma, rng, kind)


def test_triplet(
    clean: np.ndarray, sigma: float, seed: int, kind: NoiseKind = "gaussian"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The paper's test set entry: (clean, noisy copy 1, noisy copy 2), reproducible from `seed`."""
    first, second = noisy_pair(clean, sigma, np.random.default_rng(seed), kind)
    return np.asarray(clean, dtype=np.float32), first, second


# pytest would try to collect a module-level function named test_*; this one is not a test.
test_triplet.__test__ = False  # type: ignore[attr-defined]
