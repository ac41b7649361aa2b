"""Noise sigma from the variance inside the flattest small windows of the anatomy: for correlated noise.

The wavelet estimate reads the finest (one-voxel) details. Noise that was smoothed by the scanner's
k-space filter, zero-filled interpolation or a resampling step keeps its variance but moves it to coarser
scales, out of those details: with white noise smoothed by a Gaussian of 0.8 voxel (rescaled to the same
sd), the wavelet figure on the 1 mm MNI152 template reads 0.28-0.48 of the true sigma (measured here at
sigma 20 of 255). The air background measures any noise, correlated or not, but a scanner or a
skull-stripping step often sets it to zero, and then nothing is left but the anatomy.

This estimate measures the variance itself, where the anatomy is flat: the sample variance of each
WINDOW^3 block of the anatomy, taken at the SHARE of blocks whose surroundings are the flattest (the
smallest gradient of the local mean over CONTEXT^3 voxels; the mean and the variance of Gaussian noise
are independent, so this choice does not pick the blocks whose noise happens to be small), combined by
their median. Correlated noise lowers a sample variance by the average correlation within the block; with
WINDOW 5 that costs 1-5 % for correlations up to 1.2 voxels. What it cannot tell from noise is anatomy that
is not flat at the window's scale: it reads high at low noise on fine anatomy (measured on the MNI152
template, sigma 5 of 255: +11 % to +21 % at 1 mm, about 3.5x on the 2 mm template, whose every-other-voxel
subsampling leaves sharp detail). So `shared.quality.noise_level` uses it only where no air can be measured and
the wavelet figure is far below it (`CORRELATED_RATIO`), the mark of noise at coarser scales than a voxel.

Voxels at the volume's lowest value, and exact zeros where they are common, are left out (a masked background),
and so is any block that reaches them or the volume's edge.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import ndimage

from shared.noise import SIGMA_SCALE

WINDOW = 5
"""Side (voxels) of the blocks whose sample variance is taken (in-plane only for a 2D image)."""
CONTEXT = 9
"""Side of the blocks whose mean's gradient says how flat the anatomy around a block is."""
SHARE = 0.1
"""The flattest share of the blocks is used."""
MASKED_SHARE = 0.01
"""Exact zeros in more than this share of the voxels are a masked background (continuous noise repeats no value)."""
MIN_BLOCKS = 500
"""Fewest flat blocks for an estimate (the median's relative standard error is then below 1 %)."""


class LocalNoiseEstimate(BaseModel):
    """The noise sigma from the variance in the flattest blocks of the anatomy, or the reason there is none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sigma: float | None = Field(description="Noise sigma in the volume's units; null when unavailable.")
    sigma_255: float | None = Field(description="The same sigma on the project's 0-255 scale.")
    blocks_used: int = Field(description=f"Flat {WINDOW}-voxel blocks whose variances were combined.")
    reason: str | None = Field(description="Why sigma is null; null when it is available.")


def _box(data: np.ndarray, side: int, planar: bool) -> tuple[int, ...]:
    return (1, side, side) if planar else (side,) * data.ndim


def estimate_local_sigma(volume: np.ndarray, scale: float) -> LocalNoiseEstimate:
    """Sigma of the noise of a float (Z, Y, X) volume from its flattest blocks (a (1, H, W) one is a 2D image).

    `scale` is the width of the normalisation range: sigma_255 = sigma / scale * 255.
    """
    data = np.asarray(volume, dtype=np.float64)
    planar = data.shape[0] < CONTEXT
    window, context = _box(data, WINDOW, planar), _box(data, CONTEXT, planar)
    mean = ndimage.uniform_filter(data, size=window, mode="nearest")
    variance = ndimage.uniform_filter(data * data, size=window, mode="nearest") - mean * mean
    count = int(np.prod(window))
    variance = np.maximum(variance, 0.0) * count / (count - 1)  # the unbiased sample variance
    around = ndimage.uniform_filter(data, size=context, mode="nearest")
    axes = (1, 2) if planar else (0, 1, 2)
    gradient = np.sqrt(sum(np.gradient(around, axis=axis) ** 2 for axis in axes))
    # Blocks whose whole context lies in the anatomy: not at the lowest value (a masked background), not
    # past the volume's edge.
    anatomy = data != data.min()
    zeros = data == 0.0
    if zeros.mean() > MASKED_SHARE:  # masked to zero below noisy tissue that dips under it
        anatomy &= ~zeros
    inside = ndimage.binary_erosion(anatomy, structure=np.ones(_box(data, CONTEXT + 2, planar), dtype=bool))
    candidates = int(inside.sum())
    if candidates * SHARE < MIN_BLOCKS:
        return LocalNoiseEstimate(
            sigma=None,
            sigma_255=None,
            blocks_used=0,
            reason=f"too little anatomy for the local estimate: {candidates} voxels lie {CONTEXT // 2 + 1} "
            f"voxels inside it (at least {int(MIN_BLOCKS / SHARE)} are needed)",
        )
    flat = gradient[inside] <= np.quantile(gradient[inside], SHARE)
    sigma = float(np.sqrt(np.median(variance[inside][flat])))
    if sigma <= 0.0:
        return LocalNoiseEstimate(
            sigma=None, sigma_255=None, blocks_used=0, reason="the flattest blocks hold no variation at all"
        )
    return LocalNoiseEstimate(
        sigma=sigma, sigma_255=sigma / scale * SIGMA_SCALE, blocks_used=int(flat.sum()), reason=None
    )
