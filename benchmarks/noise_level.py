"""The noise level a user without the ground truth would give a denoiser: estimated from the noisy volume.

One small function, so the benchmark can later take the project's own noise-level estimator instead
(being written in `shared/quality/`) without touching the rows that use it.
"""

from __future__ import annotations

import warnings

import numpy as np

from shared.noise import SIGMA_SCALE
from shared.slices import slice_along

ESTIMATOR = (
    "scikit-image's estimate_sigma (wavelet MAD) on each sagittal slice of the noisy volume, "
    "median over the slices"
)
"""How `estimate_noise_std` works, in words for the rows' notes and the results JSON."""


def estimate_noise_std(noisy: np.ndarray, axis: int) -> float:
    """Noise standard deviation of a noisy (Z, Y, X) volume, in its own intensity units.

    scikit-image's estimator reads the finest diagonal wavelet band, which anatomy with sharp edges
    inflates; per slice, then the median, keeps a minority of edge-rich slices from biasing the value,
    while the many slices that are mostly background or smooth tissue give the noise itself. A slice
    with no detail at all (zero-filled outside the scanner's field of view) tells nothing about the
    noise and is left out; a volume made only of such slices has no noise to speak of (0).
    """
    from skimage.restoration import estimate_sigma

    slices = slice_along(np.asarray(noisy, dtype=np.float64), axis)
    if len(slices) == 0:
        raise ValueError("cannot estimate the noise of an empty volume")
    with warnings.catch_warnings():
        # scikit-image takes the median of no coefficients for a detail-free slice: NaN, with a warning.
        warnings.simplefilter("ignore", RuntimeWarning)
        per_slice = np.array([estimate_sigma(image) for image in slices], dtype=np.float64)
    informative = per_slice[np.isfinite(per_slice)]
    return float(np.median(informative)) if informative.size else 0.0


def to_sigma_scale(std: float) -> float:
    """A standard deviation on the [0, 1] scale as a sigma on the 0-255 scale the benchmark states."""
    return std * SIGMA_SCALE
