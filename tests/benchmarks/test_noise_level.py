"""Tests of the noise level the estimated-sigma rows are given: estimated from the noisy volume alone."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.noise_level import estimate_noise_std, to_sigma_scale

SIGMA = 0.04
"""The synthetic volumes' noise standard deviation on the [0, 1] scale (about 10 on the 0-255 scale)."""


def _phantom(shape: tuple[int, int, int] = (40, 48, 44)) -> np.ndarray:
    """A piecewise-constant volume: background, a bright box and a darker box inside it."""
    volume = np.zeros(shape, dtype=np.float32)
    volume[6:34, 8:40, 8:36] = 0.8
    volume[14:26, 18:30, 16:28] = 0.4
    return volume


def _noisy(clean: np.ndarray, seed: int = 0) -> np.ndarray:
    """`clean` plus Gaussian noise of std SIGMA."""
    return clean + np.random.default_rng(seed).normal(0.0, SIGMA, clean.shape).astype(np.float32)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_estimate_recovers_a_known_sigma(axis: int) -> None:
    """On a piecewise-constant volume with noise of std 0.04, the estimate is within 5% of it."""
    assert estimate_noise_std(_noisy(_phantom()), axis) == pytest.approx(SIGMA, rel=0.05)


def test_estimate_resists_a_minority_of_slices_full_of_fine_detail() -> None:
    """Slices whose fine texture fools the per-slice estimate do not drag the volume's estimate along."""
    clean = _phantom()
    checkerboard = (np.indices(clean.shape[1:]).sum(axis=0) % 2).astype(np.float32) * 0.3
    clean[:12] += checkerboard  # 12 of 40 slices across axis 0 carry pixel-scale detail
    noisy = _noisy(clean)
    assert estimate_noise_std(noisy[:12], axis=0) > 2 * SIGMA  # those slices alone are badly estimated
    assert estimate_noise_std(noisy, axis=0) == pytest.approx(SIGMA, rel=0.1)


def test_zero_filled_slices_are_left_out() -> None:
    """Slices zero-filled outside the field of view, a majority here, do not pull the estimate to 0."""
    noisy = _noisy(_phantom())
    noisy[:24] = 0.0
    assert estimate_noise_std(noisy, axis=0) == pytest.approx(SIGMA, rel=0.05)


def test_noise_free_volume_estimates_zero_and_empty_is_refused() -> None:
    """Noise-free and all-zero volumes give 0 (not NaN); a volume without slices is a clear error."""
    assert estimate_noise_std(_phantom(), axis=0) == pytest.approx(0.0, abs=1e-9)
    assert estimate_noise_std(np.zeros((4, 8, 8), dtype=np.float32), axis=0) == 0.0
    with pytest.raises(ValueError, match="empty volume"):
        estimate_noise_std(np.zeros((0, 8, 8), dtype=np.float32), axis=0)


def test_sigma_scale_is_0_255() -> None:
    """A standard deviation of 20/255 on the [0, 1] scale is sigma 20 as the benchmark states it."""
    assert to_sigma_scale(20 / 255) == pytest.approx(20.0)
