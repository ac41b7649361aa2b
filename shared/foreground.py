"""Which parts of a volume hold anatomy: a test that works on noisy volumes as well as on clean ones.

A fixed threshold on single voxels fails on noisy data: at sigma 20 of 255 a large share of the
background voxels lies above any level close to the background, so every slice seems to hold anatomy
(N2V, which only ever sees noisy volumes, kept all 197 sagittal slices of the MNI152 template, 56 of
them empty). Two things make the test robust: it looks at means of 4x4 pixel blocks (noise sd / 4), and
its threshold sits a margin of 5 block-noise sds above the background, with the noise sd estimated from
the data themselves (scikit-image's wavelet estimator). On a clean volume the margin is close to 0 and
the test is the plain threshold. On the template it keeps the same 141-143 slices at sigma 0, 5, 20, 50.
"""

from __future__ import annotations

import numpy as np
from skimage.restoration import estimate_sigma

BLOCK = 4
"""Side of the pixel blocks whose means are compared with the threshold."""
LEVEL = 0.05
"""The threshold lies this share of the (background .. bright tissue) range above the background ..."""
NOISE_MARGIN = 5.0
"""... plus this many standard deviations of the noise of a block mean."""
FRACTION = 0.02
"""A slice (or patch) with fewer of its blocks above the threshold than this is background."""
BACKGROUND_PERCENTILE, BRIGHT_PERCENTILE = 1.0, 99.9


def block_means(images: np.ndarray) -> np.ndarray:
    """Means of BLOCK x BLOCK blocks over the last two axes (images smaller than a block are kept whole)."""
    images = np.asarray(images, dtype=np.float32)
    height, width = images.shape[-2:]
    block = BLOCK if min(height, width) >= BLOCK else 1
    rows, cols = height // block, width // block
    cut = images[..., : rows * block, : cols * block]
    return cut.reshape(*images.shape[:-2], rows, block, cols, block).mean(axis=(-3, -1))


def foreground_level(volume: np.ndarray) -> float:
    """The block-mean intensity above which a block holds anatomy, for this (normalised) volume."""
    means = block_means(volume)
    background, bright = np.percentile(means, [BACKGROUND_PERCENTILE, BRIGHT_PERCENTILE])
    noise_sd = float(estimate_sigma(np.asarray(volume, dtype=np.float32)))
    return float(background + LEVEL * (bright - background) + NOISE_MARGIN * noise_sd / BLOCK)


def foreground_fractions(images: np.ndarray, level: float) -> np.ndarray:
    """Per image of an (N, H, W) stack: the share of its blocks whose mean lies above `level`."""
    return (block_means(images) > level).mean(axis=(-2, -1))


def holds_anatomy(patch: np.ndarray, level: float) -> bool:
    """Whether a 2D or 3D patch has at least FRACTION of its blocks above `level`."""
    return bool(foreground_fractions(patch, level).mean() >= FRACTION)
