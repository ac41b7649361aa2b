"""The benchmark's data: the MNI152 T1 template, normalised, cut into sagittal slices, split, and noised.

The paper's protocol on open data: intensities normalised to [0, 1]; 2D sagittal slices with the empty
background slices dropped; a train / validation / test split that is recorded; additive Gaussian noise
with sigma on the 0-255 scale, fixed seeds, never clipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.intensity import IntensityMapping
from shared.noise import seeded_pair
from shared.slices import DatasetSplit, foreground_slices, gather, plane_axis, split_slices
from shared.volume import Volume

SPLIT_SEED = 0
"""Seed of the train / validation / test split (one volume: contiguous blocks, so unused but recorded)."""
TEST_NOISE_SEED = 1000
"""The test copies of sigma s are drawn from seed TEST_NOISE_SEED + s."""


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


def test_copies(clean: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Two independent noisy copies of the clean test slices, from the fixed seed of this sigma."""
    return seeded_pair(clean, sigma, seed=test_noise_seed(sigma))


def test_noise_seed(sigma: float) -> int:
    """The seed the test noise of `sigma` is drawn from."""
    return TEST_NOISE_SEED + round(sigma)


# pytest would try to collect module-level functions named test_*; these are not tests.
test_copies.__test__ = False  # type: ignore[attr-defined]
test_noise_seed.__test__ = False  # type: ignore[attr-defined]
