"""The pair estimate of a single-copy prediction's error, from a second noisy acquisition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from shared.errors import ShapeMismatchError
from shared.quality import estimate_noise_level, pair_estimate

SIGMA = 20.0 / 255
# Over noise draws the pair estimate varies by 0.3 % around the true MSE of this smoother on 1.1 million
# voxels (measured over 6 draws); 2 % is more than 6 sds.
TOLERANCE = 0.02


def smooth(volume: np.ndarray) -> np.ndarray:
    """An in-plane Gaussian smoother standing in for a trained network."""
    return ndimage.gaussian_filter(volume.astype(np.float64), (0, 1.0, 1.0))


def test_pair_estimate_matches_the_true_error(noisy_template) -> None:
    """Two independent noisy copies: the estimate equals the true MSE of f(first) within 2 %."""
    clean = noisy_template(0.0)
    first, second = noisy_template(20.0, seed=1), noisy_template(20.0, seed=2)
    prediction = smooth(first)
    estimate = pair_estimate(prediction, first, second)
    true_mse = float(np.mean((prediction - clean) ** 2))
    assert estimate.mse == pytest.approx(true_mse, rel=TOLERANCE)
    assert estimate.rmse == pytest.approx(np.sqrt(true_mse), rel=TOLERANCE)
    assert estimate.pair_noise_sigma == pytest.approx(SIGMA, rel=TOLERANCE)
    assert estimate.data_range == pytest.approx(float(np.ptp(prediction)))


@pytest.mark.slow
def test_motion_between_the_copies_shows_in_the_pair_noise(noisy_template) -> None:
    """A 2-voxel shift of the second copy: the pair's noise sigma exceeds the volume's; the error is off."""
    clean = noisy_template(0.0)
    first = noisy_template(20.0, seed=1)
    moved = np.roll(noisy_template(20.0, seed=2), 2, axis=2)
    prediction = smooth(first)
    estimate = pair_estimate(prediction, first, moved)
    single_volume_sigma = estimate_noise_level(first).sigma
    assert estimate.pair_noise_sigma > 1.25 * single_volume_sigma  # the check the docstring recommends
    assert abs(estimate.mse / float(np.mean((prediction - clean) ** 2)) - 1) > 0.3


def test_mask_and_data_range(noisy_template) -> None:
    """A mask restricts the estimate; PSNR is on the stated data range."""
    clean = noisy_template(0.0)
    first, second = noisy_template(20.0, seed=1), noisy_template(20.0, seed=2)
    prediction = smooth(first)
    brain = clean > 0.1
    estimate = pair_estimate(prediction, first, second, mask=brain, data_range=1.0)
    true_mse = float(np.mean((prediction - clean)[brain] ** 2))
    assert estimate.voxels == int(brain.sum())
    assert estimate.mse == pytest.approx(true_mse, rel=2 * TOLERANCE)  # fewer voxels: twice the spread
    assert estimate.psnr == pytest.approx(-10 * np.log10(estimate.mse), rel=1e-9)


def test_a_perfect_prediction_can_estimate_zero_or_less(noisy_template) -> None:
    """An unbiased estimate of a tiny error may fall to 0 or below: RMSE 0, infinite PSNR, in JSON too."""
    clean = noisy_template(0.0)
    first, second = noisy_template(20.0, seed=1), noisy_template(20.0, seed=3)
    estimate = pair_estimate(clean, first, second)
    assert abs(estimate.mse) < 0.01 * SIGMA**2
    if estimate.mse <= 0:
        assert estimate.rmse == 0 and estimate.psnr == float("inf")
        assert '"psnr":Infinity' in estimate.model_dump_json()


def test_shapes_must_match(noisy_template) -> None:
    """A second copy of another shape is refused, naming both shapes."""
    first = noisy_template(20.0)
    with pytest.raises(ShapeMismatchError, match="second acquisition"):
        pair_estimate(first, first, first[:-1])
