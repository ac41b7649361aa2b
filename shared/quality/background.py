"""Where the air is: the dark region around the anatomy that touches the edge of every slice.

Single voxels cannot tell air from tissue in a noisy image, so the test looks at local means over
WINDOW x WINDOW pixels of each slice (their noise is 1/WINDOW of a voxel's):
1. the background level is the mode of the local means (the air is the largest region of nearly one
   intensity in an MR field of view; Aja-Fernandez et al. 2009, MRI 27:1397, use the same mode of local
   statistics), from a histogram with bins of a quarter of the local means' noise sd. Air holds noise
   only, so its level is at most AIR_LEVEL_SDS noise sds (Rayleigh air: 1.25 sigma); a higher mode is
   tissue filling the field of view, and then there is no background;
2. a local mean belongs to the background when it lies below that level plus MARGIN_SDS noise sds of a
   local mean (noise_sd / WINDOW, with noise_sd the wavelet estimate, which on magnitude images lies
   between the air's spread of 0.655 sigma and sigma, so the margin is 4 to 6 sds of the air);
3. the candidate mask is eroded by the window, so that no voxel kept has tissue within its window;
4. only the parts connected (in 3D) to the in-plane edges of the slices are kept: air surrounds the
   body in the plane of a slice, while dark tissue inside (bone, CSF, a bowel gas bubble) does not
   reach the edge. The first and last slices do not count as edges, since a stack may start in tissue.

Nothing here assumes a noise distribution, so the same mask serves Gaussian and magnitude images; the
background estimate then checks that what was found really is Rayleigh- or Gaussian-distributed air.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from shared.quality.region import as_volume
from shared.quality.wavelet_noise import volume_noise_sd

WINDOW = 5
"""Side (pixels) of the in-plane window of the local means."""
MARGIN_SDS = 4.0
"""Local means up to this many of their noise sds above the background level still count as background."""
AIR_LEVEL_SDS = 4.0
"""Highest background level, in noise sds: Rayleigh air lies at 1.25 sigma, 1.3-1.9 wavelet noise sds."""
BINS_PER_SD = 4
"""Histogram bins per noise sd of a local mean: fine enough to place the mode within a quarter sd."""
MAX_BINS = 100_000
"""At most this many bins (a volume whose noise is tiny against its range)."""
TOP_PERCENTILE = 99.5
"""The histogram ends here, so that a few extreme voxels do not stretch it."""


def _local_means(volume: np.ndarray) -> np.ndarray:
    """Mean over WINDOW x WINDOW pixels in the plane of each slice of a (Z, Y, X) array."""
    return ndimage.uniform_filter(volume, size=(1, WINDOW, WINDOW), mode="nearest")


def _background_level(means: np.ndarray, mean_sd: float) -> float:
    """The mode of the local means: the centre of the highest bin of their histogram."""
    low, high = float(means.min()), float(np.percentile(means, TOP_PERCENTILE))
    if not high > low:
        return low
    bins = MAX_BINS if mean_sd <= 0 else int(min(MAX_BINS, max(16, (high - low) / mean_sd * BINS_PER_SD)))
    counts, edges = np.histogram(means, bins=bins, range=(low, high))
    top = int(np.argmax(counts))
    return float((edges[top] + edges[top + 1]) / 2)


def _touching_slice_edges(candidates: np.ndarray) -> np.ndarray:
    """The connected parts of a (Z, Y, X) mask that reach the Y or X edge of any slice."""
    labels, count = ndimage.label(candidates)
    if count == 0:
        return candidates
    keep = np.zeros(count + 1, dtype=bool)
    for edge in (labels[:, 0, :], labels[:, -1, :], labels[:, :, 0], labels[:, :, -1]):
        keep[edge] = True
    keep[0] = False  # label 0 is everything outside the candidates
    return keep[labels]


def find_background(volume: np.ndarray, noise_sd: float, slice_axis: int = 0) -> np.ndarray:
    """Boolean mask of the air background of a float (Z, Y, X) volume; may be empty (no air found).

    `noise_sd` is the volume's noise sd from the wavelet estimate (volume units).
    """
    slices = np.moveaxis(volume, slice_axis, 0)
    means = _local_means(slices)
    mean_sd = noise_sd / WINDOW
    level = _background_level(means, mean_sd)
    if level > AIR_LEVEL_SDS * noise_sd:
        return np.zeros(volume.shape, dtype=bool)
    candidates = means <= level + MARGIN_SDS * mean_sd
    candidates = ndimage.binary_erosion(
        candidates, structure=np.ones((1, WINDOW, WINDOW), dtype=bool), border_value=1
    )
    return np.moveaxis(_touching_slice_edges(candidates), 0, slice_axis)


def foreground_mask(data: np.ndarray, slice_axis: int = 0) -> np.ndarray:
    """Every voxel that is not air background: the region to restrict SURE or residual summaries to.

    Accepts a 2D image or a 3D (Z, Y, X) volume and returns a mask of the same shape.
    """
    volume = as_volume(data, "volume")
    axis = slice_axis if np.ndim(data) == 3 else 0
    mask = ~find_background(volume, volume_noise_sd(volume, axis), axis)
    return mask.reshape(np.shape(data))
