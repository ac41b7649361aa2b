"""The benchmark's data: the MNI152 T1 template, normalised, cut into sagittal slices, split, and noised.

The paper's protocol on open data: intensities normalised to [0, 1]; 2D sagittal slices with the empty
background slices dropped; a train / validation / test split that is recorded; additive Gaussian noise
with sigma on the 0-255 scale, fixed seeds, never clipped. The test noise covers the whole volume, so
methods that use the third dimension (BM4D, non-local means in 3D) see the same noisy data as the 2D
ones, which take its test slices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from shared.intensity import IntensityMapping
from shared.noise import noisy_pair
from shared.slices import DatasetSplit, foreground_slices, gather, plane_axis, split_slices
from shared.volume import Volume

SPLIT_SEED = 0
"""Seed of the train / validation / test split (one volume: contiguous blocks, so unused but recorded)."""
TEST_NOISE_SEED = 1000
"""The test copies of sigma s are drawn from seed TEST_NOISE_SEED + s."""
TEST_NOISE_SCOPE: Final = "whole volume"
"""What the seeded test noise is drawn over (until this was recorded: the stacked test slices only)."""


def load_mni(downsample: int = 1) -> Volume:
    """The MNI152 2009 T1 template (nilearn, no download) as a (Z, Y, X) Volume, every n-th voxel."""
    from nilearn.datasets import load_mni152_template

    image = load_mni152_template(resolution=1)
    data = np.asarray(image.get_fdata(), dtype=np.float32).transpose(2, 1, 0)
    affine = image.affine.copy()
    if downsample > 1:
        data = np.ascontiguousarray(data[::downsample, ::downsample, ::downsample])
        affine[:3, :3] *= downsample
    return Volume(data=data, affine=affine)


@dataclass(frozen=True)
class BenchmarkData:
    """Clean normalised slices of one volume, split into train / validation / test, (N, H, W) each."""

    volume: Volume
    split: DatasetSplit
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    @property
    def axis(self) -> int:
        """Array axis the sagittal slices lie across."""
        return self.split.axis

    def describe(self) -> dict[str, object]:
        """A JSON-ready summary of the data."""
        return {
            "source": "MNI152 2009 T1 template (nilearn.datasets.load_mni152_template(resolution=1))",
            "volume_shape_zyx": list(self.volume.shape),
            "spacing_mm_zyx": [round(s, 6) for s in self.volume.spacing],
            "plane": "sagittal",
            "slice_axis": self.axis,
            "slice_shape": list(self.test.shape[1:]),
            "n_train": len(self.train),
            "n_val": len(self.val),
            "n_test": len(self.test),
        }

    def test_slices_of(self, volume: np.ndarray) -> np.ndarray:
        """The test slices (N, H, W) of a (Z, Y, X) volume on this data's grid, e.g. a denoised one."""
        return gather([volume], self.split.test, self.axis)


def _evenly(refs: list[tuple[int, int]], limit: int | None) -> list[tuple[int, int]]:
    """At most `limit` refs, evenly spaced across the list (all of them when limit is None)."""
    if limit is None or len(refs) <= limit:
        return refs
    picks = np.linspace(0, len(refs) - 1, limit).round().astype(int)
    return [refs[i] for i in picks]


def prepare(volume: Volume, max_test_slices: int | None = None, seed: int = SPLIT_SEED) -> BenchmarkData:
    """Normalise `volume` to [0, 1], keep its foreground sagittal slices, and split them 80/10/10."""
    normalised = volume.with_data(IntensityMapping.min_max(volume.data, "MNI152").normalise(volume.data))
    axis = plane_axis(normalised.affine, "sagittal")
    kept = foreground_slices(normalised.data, axis)
    split = split_slices([kept], axis=axis, seed=seed)
    split = split.model_copy(update={"test": _evenly(split.test, max_test_slices)})
    data = [normalised.data]
    return BenchmarkData(
        volume=normalised,
        split=split,
        train=gather(data, split.train, axis),
        val=gather(data, split.val, axis),
        test=gather(data, split.test, axis),
    )


@dataclass(frozen=True)
class NoisyCopies:
    """The two seeded noisy copies of the whole normalised volume at one sigma, and their test slices."""

    sigma: float
    seed: int
    volumes: tuple[np.ndarray, np.ndarray]
    """Both noisy copies, (Z, Y, X) float32: what 3D methods denoise."""
    test_slices: tuple[np.ndarray, np.ndarray]
    """The test slices (N, H, W) of each copy: what 2D methods denoise; N2N Eq. 3 uses both."""


def evaluation_noise_seed(sigma: float) -> int:
    """The seed the test noise of `sigma` (0-255 scale) is drawn from: TEST_NOISE_SEED + sigma."""
    return TEST_NOISE_SEED + round(sigma)


def draw_noisy_copies(data: BenchmarkData, sigma: float) -> NoisyCopies:
    """Two independent noisy copies of the whole normalised volume from the fixed seed of this sigma.

    One generator draws the first copy over the whole volume, then the second, so a test slice's noise
    no longer depends on how many test slices a budget scores.
    """
    seed = evaluation_noise_seed(sigma)
    first, second = noisy_pair(data.volume.data, sigma, np.random.default_rng(seed))
    return NoisyCopies(
        sigma=sigma,
        seed=seed,
        volumes=(first, second),
        test_slices=(data.test_slices_of(first), data.test_slices_of(second)),
    )
