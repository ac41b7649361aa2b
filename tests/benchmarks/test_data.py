"""Tests of the benchmark's data: the normalised MNI template, its sagittal split and the test noise."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.data import BenchmarkData, load_mni, prepare, test_copies
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
    first, second = test_copies(data.test, 20)
    again, _ = test_copies(data.test, 20)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)
    noise = np.concatenate([(first - data.test).ravel(), (second - data.test).ravel()])
    assert noise.std() == pytest.approx(sigma_to_unit(20), rel=0.05)
    assert first.min() < 0.0
