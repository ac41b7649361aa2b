"""Noise sigma from the air background, whose voxels hold noise only: Rayleigh (magnitude) or Gaussian.

A magnitude MR image is |signal + complex Gaussian noise of sd sigma per channel|; where there is no
signal (air) that magnitude follows a Rayleigh distribution with scale sigma (Henkelman 1985, Med Phys
12:232; Gudbjartsson & Patz 1995, MRM 34:910): mean = sigma sqrt(pi/2), sd = sigma sqrt(2 - pi/2),
median = sigma sqrt(2 ln 2). We use the median, an order statistic (Koay 2009, "Estimating Gaussian noise
standard deviation from sample and order statistics", collects these estimators): unlike the mean, the
second moment (the maximum-likelihood estimate) or the sd, it barely moves for a few outliers in the air
(ghosts, a marker, a hot voxel). Real-valued images (phase-corrected reconstructions, synthetic noise)
have zero-mean Gaussian air instead; sigma is then its interquartile range / 1.349, again robust to a few
outliers, and free of the anatomy that leaks into the wavelet estimate at low noise.

The background is found by `background.find_background`. Before an estimate is given, it must pass:
- at least MIN_BACKGROUND_VOXELS voxels (then the relative standard error is below 2.6 %);
- not largely at its lowest value (a background set to 0 by the scanner or by skull stripping, or
  clipped, holds no noise);
- the shape of its distribution. With (almost) no negative values it must be Rayleigh: sigma from the
  lower and from the upper quartile agree within SHAPE_TOLERANCE. This refuses tissue taken for air, a
  multi-coil sum-of-squares background (non-central chi: Constantinides et al. 1997, MRM 38:852;
  Dietrich et al. 2007, JMRI 26:375) and filtered or interpolated images, where the median would be
  wrong. With negative values it must be Gaussian: symmetric about its median, and sigma from the
  10-90 % range agreeing with sigma from the quartiles.
Otherwise sigma is null and `reason` says which test failed: never a guess. Parallel imaging (SENSE,
GRAPPA) makes the noise vary across the image; the background then tells the noise of the air only.

Quantiles of quantised data (integer DICOM values) are taken from the histogram with each value spread
over its quantisation step, so that a small sigma in integer units is not rounded away.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import norm

from shared.noise import SIGMA_SCALE
from shared.quality.background import find_background

MIN_BACKGROUND_VOXELS = 2000
"""Fewest background voxels for an estimate (relative standard error at most 1.17 / sqrt(n) = 2.6 %)."""
MAX_NEGATIVE_SHARE = 0.01
"""A magnitude background has no negative values; with more than this share it is taken as Gaussian."""
MAX_AT_MINIMUM_SHARE = 0.2
"""More than this share of the background at its minimum value means it was masked or clipped (integer
Rayleigh noise of sigma 1 count has 12 % of its values at 0, of sigma 3 counts 1.4 %)."""
SHAPE_TOLERANCE = 0.1
"""Largest relative disagreement of two sigmas from different quantiles (pure noise, 2000 voxels: 0.1 %
of Rayleigh samples disagree by more than 6.9 %)."""
RAYLEIGH_QUARTILES = tuple(math.sqrt(-2 * math.log(1 - q)) for q in (0.25, 0.5, 0.75))
"""Lower quartile, median and upper quartile of a Rayleigh distribution with scale 1."""
NORMAL_QUARTILE = float(norm.ppf(0.75))
NORMAL_DECILE = float(norm.ppf(0.9))
RAYLEIGH_SPREAD = 1 / (2 * math.log(2))
"""sd of sigma = median / sqrt(2 ln 2) in units of sigma / sqrt(n): 1 / (2 pdf(median)) / sqrt(2 ln 2)."""
NORMAL_SPREAD = 1.1664
"""sd of sigma = IQR / 1.349 in units of sigma / sqrt(n) (that of the MAD, to which it is equivalent here)."""

AirNoise = Literal["rayleigh", "gaussian"]


class BackgroundNoiseEstimate(BaseModel):
    """The noise sigma measured on the air background, or the reason there is none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sigma: float | None = Field(
        description="Sigma of the Gaussian noise (per channel for magnitude data), volume units; null "
        "when unavailable."
    )
    sigma_255: float | None = Field(
        description="The same sigma on the project's 0-255 scale of the normalisation range."
    )
    standard_error: float | None = Field(
        description="Standard error of sigma in the volume's units, for independent background voxels."
    )
    distribution: AirNoise | None = Field(
        description="What the air holds: 'rayleigh' (a magnitude image, Rician noise) or 'gaussian'."
    )
    background_voxels: int = Field(description="Voxels found to be air background.")
    background_fraction: float = Field(description="Share of the volume's voxels that are background, 0-1.")
    shape_ratio: float | None = Field(
        description="Ratio of two sigmas from different quantiles of the air: 1 for pure noise of that "
        "distribution (upper / lower quartile for Rayleigh, 10-90 % range / quartiles for Gaussian)."
    )
    reason: str | None = Field(description="Why sigma is null; null when it is available.")


def grouped_quantiles(distinct: np.ndarray, counts: np.ndarray, quantiles: list[float]) -> np.ndarray:
    """Quantiles of sorted distinct values with their counts, each spread evenly halfway to its neighbours.

    For continuous data this is ordinary interpolation; for quantised data (integers) it undoes the
    rounding that otherwise moves a median by up to half a step.
    """
    if distinct.size == 1:
        return np.full(len(quantiles), float(distinct[0]))
    mids = (distinct[1:] + distinct[:-1]) / 2
    edges = np.concatenate(
        [[distinct[0] - (mids[0] - distinct[0])], mids, [distinct[-1] + (distinct[-1] - mids[-1])]]
    )
    cdf = np.concatenate([[0.0], np.cumsum(counts) / counts.sum()])
    return np.interp(quantiles, cdf, edges)


def _rayleigh_sigma(distinct: np.ndarray, counts: np.ndarray) -> tuple[float, float, str | None]:
    """Sigma from the median of Rayleigh air, the quartile ratio, and why it is refused (or None)."""
    lower, median, upper = grouped_quantiles(distinct, counts, [0.25, 0.5, 0.75])
    low_factor, median_factor, high_factor = RAYLEIGH_QUARTILES
    ratio = (upper / high_factor) / (lower / low_factor) if lower > 0 else math.inf
    if abs(ratio - 1) <= SHAPE_TOLERANCE:
        return float(median) / median_factor, ratio, None
    return (
        math.nan,
        ratio,
        f"the background is not Rayleigh-distributed (quartile ratio {ratio:.2f}, 1 for single-coil "
        "magnitude noise): it holds tissue or artefacts, comes from a multi-coil sum of squares, or was "
        "filtered or interpolated",
    )


def _gaussian_sigma(distinct: np.ndarray, counts: np.ndarray) -> tuple[float, float, str | None]:
    """Sigma from the quartiles of Gaussian air, the decile/quartile ratio, and why it is refused, if so."""
    low10, low25, median, high75, high90 = grouped_quantiles(distinct, counts, [0.1, 0.25, 0.5, 0.75, 0.9])
    sigma = (high75 - low25) / (2 * NORMAL_QUARTILE)
    ratio = (high90 - low10) / (2 * NORMAL_DECILE) / sigma if sigma > 0 else math.inf
    skew = (high75 - median) / (median - low25) if median > low25 else math.inf
    if abs(ratio - 1) <= SHAPE_TOLERANCE and abs(skew - 1) <= SHAPE_TOLERANCE:
        return float(sigma), ratio, None
    return (
        math.nan,
        ratio,
        f"the background has negative values but is not Gaussian noise (decile/quartile ratio {ratio:.2f}, "
        f"quartile asymmetry {skew:.2f}; both 1 for Gaussian noise): it holds tissue or artefacts",
    )


def estimate_background_sigma(
    volume: np.ndarray, scale: float, noise_sd: float, slice_axis: int = 0
) -> BackgroundNoiseEstimate:
    """Sigma from the air background of a float (Z, Y, X) volume, Rayleigh or Gaussian.

    `scale` is the width of the normalisation range (sigma_255 = sigma / scale * 255); `noise_sd` is the
    wavelet estimate, which sets how far above the air's level a local mean may lie (volume units).
    """
    background = find_background(volume, noise_sd, slice_axis)
    values = volume[background]
    count = int(values.size)
    fraction = count / volume.size

    def unavailable(reason: str, ratio: float | None = None) -> BackgroundNoiseEstimate:
        return BackgroundNoiseEstimate(
            sigma=None,
            sigma_255=None,
            standard_error=None,
            distribution=None,
            background_voxels=count,
            background_fraction=fraction,
            shape_ratio=ratio if ratio is not None and math.isfinite(ratio) else None,
            reason=reason,
        )

    if count == 0:
        return unavailable(
            "no air background was found: the darkest region touching the slice edges is tissue, not "
            "noise alone (the anatomy fills the field of view)"
        )
    if count < MIN_BACKGROUND_VOXELS:
        return unavailable(
            f"only {count} air-background voxels were found around the anatomy "
            f"(at least {MIN_BACKGROUND_VOXELS} are needed): too little air in the field of view"
        )
    distinct, counts = np.unique(values, return_counts=True)
    at_minimum = float(counts[0]) / count
    if at_minimum > MAX_AT_MINIMUM_SHARE:
        return unavailable(
            f"{at_minimum:.0%} of the background voxels are at its lowest value, {distinct[0]:g}: the "
            "background was masked or clipped and holds no noise to measure"
        )
    magnitude = float(np.mean(values < 0)) <= MAX_NEGATIVE_SHARE
    estimator = _rayleigh_sigma if magnitude else _gaussian_sigma
    sigma, ratio, refusal = estimator(distinct, counts)
    if refusal is not None:
        return unavailable(refusal, ratio)
    spread = RAYLEIGH_SPREAD if magnitude else NORMAL_SPREAD
    return BackgroundNoiseEstimate(
        sigma=sigma,
        sigma_255=sigma / scale * SIGMA_SCALE,
        standard_error=spread * sigma / math.sqrt(count),
        distribution="rayleigh" if magnitude else "gaussian",
        background_voxels=count,
        background_fraction=fraction,
        shape_ratio=float(ratio),
        reason=None,
    )
