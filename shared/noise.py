"""Synthetic noise on the normalised intensity scale, as in the paper.

`sigma` is always given on a 0-255 scale of the normalised range: sigma=20 adds noise of standard
deviation 20/255 to intensities in [0, 1]. Noise is never clipped, so its statistics stay exact.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from shared.errors import ConfigError

NoiseKind = Literal["gaussian", "rician"]

SIGMA_SCALE = 255.0
"""The paper states sigma on a 0-255 scale of the normalised [0, 1] range; it is also sigma's upper bound."""

Sigma = Annotated[
    float,
    Field(
        gt=0.0,
        le=SIGMA_SCALE,
        description="Noise standard deviation on the 0-255 scale of the normalised [0, 1] range.",
    ),
]
"""A synthetic noise level: the one definition every payload, route, command and core function checks."""


def check_sigma(sigma: float) -> float:
    """`sigma` if it is a valid noise level (0 < sigma <= 255), else a ConfigError saying the rule."""
    if not 0.0 < sigma <= SIGMA_SCALE:
        raise ConfigError(
            f"sigma must be > 0 and <= {SIGMA_SCALE:g} (0-255 scale of the normalised range), got {sigma:g}"
        )
    return float(sigma)


def sigma_to_unit(sigma: float) -> float:
    """Standard deviation on the [0, 1] scale for a sigma on the 0-255 scale."""
    return check_sigma(sigma) / SIGMA_SCALE


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
