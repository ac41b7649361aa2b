"""What a result took out of its input: the residual y - f(y), the "method noise" of Buades, Coll and
Morel (2005, Multiscale Model. Simul. 4:490), and two numbers that summarise it.

A denoiser that removes only noise leaves a residual that looks like noise: no anatomy, no edges, no
shift (look at the residual volume itself; these numbers only summarise it). How to read them:
- `std_ratio`, the residual's sd over the estimated noise sigma. For a result that removed noise only it
  is about 1 or a little below: ratio^2 = 1 - 2 div/N + MSE/sigma^2 by Stein's identity (BM3D with the
  true sigma on the MNI152 template at sigma 20: 0.85). Well above 1 (say > 1.1), more than the noise
  was taken out, i.e. anatomy; well below 1 (say < 0.7), much of the noise is still in the result.
- `correlation`, Pearson's r between the result and the residual, the decorrelation criterion of
  Mrazek and Navara (2003, IJCV 52:189): 0 when the residual is noise independent of the result.
  Positive values have two causes that this number alone cannot tell apart: anatomy in the residual,
  and noise kept in the result, which correlates with the noise taken out (E[f(y) n] = sigma^2 div f by
  Stein's lemma). `std_ratio` separates them (> 1 vs < 1); so does SURE's `error_correlation`, which
  removes the second cause at the cost of one more call of the denoiser.
- `residual_mean`: a shift of the whole intensity scale (the result came out darker or brighter).
Local correlation maps (r in small windows) were tried and left out: they carry the same confound more
strongly (on the MNI152 template at sigma 20, Gaussian filters of 0.8 and 3 pixels, one keeping noise
and one blurring anatomy, both gave a mean |r| of 0.34 in 7x7 windows).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigError
from shared.quality.region import as_region, as_volume, same_shape


class ResidualSummary(BaseModel):
    """The residual (input - result) against the noise level, and the structure left in it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    residual_std: float = Field(description="Standard deviation of input - result, volume units.")
    residual_mean: float = Field(description="Mean of input - result, volume units (a shift of intensities).")
    noise_sigma: float = Field(
        description="Estimated noise sigma the residual is compared with, volume units."
    )
    std_ratio: float = Field(
        description="residual_std / noise_sigma: ~1 or below, noise only; > 1.1, signal removed."
    )
    correlation: float | None = Field(
        description="Pearson r of result and residual: 0 for a pure-noise residual; null if one is constant."
    )
    voxels: int = Field(description="Voxels summarised (the mask, or the whole volume).")


def residual(noisy: np.ndarray, result: np.ndarray) -> np.ndarray:
    """input - result as float32, in the input's units and shape: the volume to look at."""
    y = as_volume(noisy, "noisy input")
    fy = as_volume(result, "result")
    same_shape(fy, y, "the result", "the noisy input")
    difference = (y - fy).astype(np.float32)
    return difference.reshape(np.shape(noisy))


def summarise_residual(
    noisy: np.ndarray, result: np.ndarray, noise_sigma: float, *, mask: np.ndarray | None = None
) -> ResidualSummary:
    """Summarise input - result over `mask` (default: every voxel) against the noise sigma (volume units)."""
    if not (math.isfinite(noise_sigma) and noise_sigma > 0):
        raise ConfigError(f"noise_sigma must be a positive number, got {noise_sigma}")
    y = as_volume(noisy, "noisy input")
    fy = as_volume(result, "result")
    same_shape(fy, y, "the result", "the noisy input")
    region = as_region(mask, y.shape)
    removed = (y - fy)[region]
    kept = fy[region]
    removed_sd, kept_sd = float(removed.std()), float(kept.std())
    correlation = (
        float(np.mean((kept - kept.mean()) * (removed - removed.mean())) / (kept_sd * removed_sd))
        if kept_sd > 0 and removed_sd > 0
        else None
    )
    return ResidualSummary(
        residual_std=removed_sd,
        residual_mean=float(removed.mean()),
        noise_sigma=float(noise_sigma),
        std_ratio=removed_sd / noise_sigma,
        correlation=correlation,
        voxels=int(region.sum()),
    )
