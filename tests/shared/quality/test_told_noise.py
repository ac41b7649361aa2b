"""The noise level a noise-level-aware model (the prior) is told: the caller's, a pair's, or the estimate."""

from __future__ import annotations

import numpy as np
import pytest

from shared.errors import ConfigError
from shared.intensity import IntensityMapping, Normalisation
from shared.quality.noise_level import estimate_noise_level, told_noise_level
from shared.quality.pair import pair_noise_sigma

UNITS = 1000.0
"""The template is put on a scanner-like range, 0-1000, so units and the 0-255 scale differ."""
SIGMA = 25.0
"""Noise of each copy, in those units (about 6.4 on the 0-255 scale of the full range)."""


@pytest.fixture(scope="module")
def scan(template_2mm: np.ndarray) -> np.ndarray:
    """The real 2 mm MNI152 template (air included) on a 0-1000 range, noise-free."""
    return template_2mm.astype(np.float64) * UNITS


def copies(clean: np.ndarray, *, masked: bool) -> tuple[np.ndarray, np.ndarray]:
    """Two acquisitions of Gaussian noise SIGMA; `masked`: the air zeroed in both, as scanners do."""
    rng = np.random.default_rng(0)
    first = clean + rng.normal(0.0, SIGMA, clean.shape)
    second = clean + rng.normal(0.0, SIGMA, clean.shape)
    if masked:
        air = clean < 0.02 * UNITS
        first[air] = 0.0
        second[air] = 0.0
    return first.astype(np.float32), second.astype(np.float32)


def test_a_given_sigma_wins_and_converts_with_the_mapping(scan) -> None:
    """--noise-sigma 10 means 10 on the 0-255 scale of the input's normalisation, whatever else is known."""
    first, second = copies(scan, masked=False)
    mapping = IntensityMapping(low=100.0, high=612.0)
    told = told_noise_level(first, mapping, 0, second=second, given=10.0)
    assert told.source == "given"
    assert told.sigma_255 == 10.0
    assert told.sigma == pytest.approx(10.0 / 255.0 * 512.0)
    zero = told_noise_level(first, mapping, 0, given=0.0)
    assert zero.source == "given" and zero.sigma == 0.0


@pytest.mark.parametrize("given", [-1.0, 256.0])
def test_a_given_sigma_off_the_scale_is_refused(scan, given: float) -> None:
    with pytest.raises(ConfigError, match="0-255"):
        told_noise_level(scan, IntensityMapping(low=0.0, high=UNITS), 0, given=given)


@pytest.mark.parametrize("masked", [False, True])
def test_a_second_copy_measures_the_noise(scan, masked: bool) -> None:
    """With a second acquisition the pair sigma is told: within 10 % of the truth, masked air or not."""
    first, second = copies(scan, masked=masked)
    mapping = Normalisation().fit(first)
    told = told_noise_level(first, mapping, 0, second=second)
    assert told.source == "pair"
    assert told.sigma == pytest.approx(SIGMA, rel=0.1)
    assert told.sigma_255 == pytest.approx(told.sigma / mapping.scale * 255.0)


def test_with_masked_air_the_pair_beats_the_single_volume_estimate(scan) -> None:
    """Why the pair is preferred: zeroed air is no noise sample; the pair ignores it, the estimate falls back
    to the wavelet one (measured: 36.7 for a true 25, the anatomy leaking in; the pair: 25.0)."""
    first, second = copies(scan, masked=True)
    mapping = Normalisation().fit(first)
    pair = told_noise_level(first, mapping, 0, second=second)
    alone = told_noise_level(first, mapping, 0)
    assert alone.source != "background"  # no air of pure noise left
    assert abs(pair.sigma / SIGMA - 1.0) < 0.1
    assert abs(pair.sigma / SIGMA - 1.0) <= abs(alone.sigma / SIGMA - 1.0)


def test_without_a_given_sigma_or_a_pair_the_estimate_and_its_source_are_told(scan) -> None:
    first, _ = copies(scan, masked=False)
    mapping = Normalisation().fit(first)
    told = told_noise_level(first, mapping, 0)
    level = estimate_noise_level(first, mapping, slice_axis=0)
    assert told.source == level.source
    assert told.source in ("background", "wavelet")
    assert told.sigma == pytest.approx(level.sigma)
    assert told.sigma_255 == pytest.approx(level.sigma_255)
    assert told.sigma == pytest.approx(SIGMA, rel=0.15)


def test_a_copy_identical_to_the_input_is_no_pair(scan) -> None:
    """Two identical files measure no noise: the estimate is told instead of zero."""
    first, _ = copies(scan, masked=False)
    mapping = Normalisation().fit(first)
    told = told_noise_level(first, mapping, 0, second=first.copy())
    assert told.source in ("background", "wavelet")
    assert told.sigma > 0.0


def test_pair_noise_sigma_ignores_exact_zeros() -> None:
    """Voxels zeroed in either copy are left out: 80 % masked air does not pull the sigma to 0."""
    rng = np.random.default_rng(1)
    clean = np.full((40, 50, 50), 500.0)
    first = clean + rng.normal(0.0, SIGMA, clean.shape)
    second = clean + rng.normal(0.0, SIGMA, clean.shape)
    first[:32] = 0.0
    second[:32] = 0.0
    second[32:, :10] = 0.0  # masked in one copy only: no noise sample either
    assert pair_noise_sigma(first, second) == pytest.approx(SIGMA, rel=0.05)
    unmasked = clean + rng.normal(0.0, SIGMA, clean.shape)
    assert pair_noise_sigma(unmasked[32:, 10:], second[32:, 10:]) == pytest.approx(SIGMA, rel=0.05)


def test_pair_noise_sigma_needs_enough_voxels() -> None:
    first = np.zeros((10, 10, 10))
    second = np.zeros((10, 10, 10))
    first[0, 0, :5] = second[0, 0, :5] = 1.0
    assert pair_noise_sigma(first, second) is None
