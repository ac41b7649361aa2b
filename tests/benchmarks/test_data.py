"""Tests of the benchmark's data: the normalised MNI template, its sagittal split and the test noise."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.data import BenchmarkData, draw_noisy_copies, load_mni, prepare
from shared.noise import sigma_to_unit


@pytest.fixture(scope="module")
def data() -> BenchmarkData:
    """The 3 mm template, split, with at most 4 test slices."""
    return prepare(load_mni(downsample=3), max_test_slices=4)


def test_slices_are_normalised_sagittal_and_disjoint(data: BenchmarkData) -> None:
    """Slices are on [0, 1], cut across the left-right axis, and no test slice is used for training."""
    assert data.axis == 2
    assert data.volume.data.min() >= 0.0 and data.volume.data.max() == pytest.approx(1.0)
    train, val, test = ({s for _, s in refs} for refs in (data.split.train, data.split.val, data.split.test))
    assert not (train & test) and not (train & val) and not (val & test)
    assert data.test.shape == (4, *data.volume.shape[:2])


def test_background_slices_are_dropped(data: BenchmarkData) -> None:
    """The empty slices at the left and right ends of the head are in no subset."""
    used = {s for refs in (data.split.train, data.split.val, data.split.test) for _, s in refs}
    assert 0 not in used and data.volume.shape[2] - 1 not in used


def test_test_noise_is_reproducible_unclipped_and_of_the_stated_sigma(data: BenchmarkData) -> None:
    """The same sigma gives the same two copies; their noise has std sigma/255 and goes below 0."""
    noisy = draw_noisy_copies(data, 20)
    again = draw_noisy_copies(data, 20)
    np.testing.assert_array_equal(noisy.volumes[0], again.volumes[0])
    assert noisy.seed == 1020
    assert not np.array_equal(noisy.volumes[0], noisy.volumes[1])
    noise = np.concatenate([(copy - data.volume.data).ravel() for copy in noisy.volumes])
    assert noise.std() == pytest.approx(sigma_to_unit(20), rel=0.02)
    assert noisy.volumes[0].min() < 0.0


def test_test_noise_covers_the_whole_volume_and_the_test_slices_are_cut_from_it(data: BenchmarkData) -> None:
    """Both copies are whole noisy volumes; the test slices every 2D method sees are theirs."""
    noisy = draw_noisy_copies(data, 5)
    for volume, slices in zip(noisy.volumes, noisy.test_slices, strict=True):
        assert volume.shape == data.volume.shape and volume.dtype == np.float32
        assert slices.shape == data.test.shape
        for (_, index), image in zip(data.split.test, slices, strict=True):
            np.testing.assert_array_equal(image, np.take(volume, index, axis=data.axis))


def test_a_test_slice_gets_the_same_noise_whatever_the_number_of_test_slices(data: BenchmarkData) -> None:
    """Scoring fewer test slices does not change the noise of those still scored."""
    fewer = prepare(load_mni(downsample=3), max_test_slices=2)
    shared_refs = set(fewer.split.test) & set(data.split.test)
    assert shared_refs
    full, reduced = draw_noisy_copies(data, 20), draw_noisy_copies(fewer, 20)
    for ref in shared_refs:
        np.testing.assert_array_equal(
            full.test_slices[0][data.split.test.index(ref)],
            reduced.test_slices[0][fewer.split.test.index(ref)],
        )
