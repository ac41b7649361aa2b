"""Monte-Carlo SURE: denoisers whose error or divergence is known exactly, on the noisy template."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from shared.errors import ConfigError, JobError, ShapeMismatchError
from shared.quality import monte_carlo_sure

SIGMA = 20.0 / 255
# On 1.1 million voxels the Monte-Carlo divergence of these denoisers varies by 0.2-0.3 % between probes
# (sd sqrt(2 sum(k^2) / N) / k_centre) and SURE by 0.3 % around the true error between noise draws
# (measured over 6 draws), so 2 % is more than 6 sds.
TOLERANCE = 0.02

SMOOTHER = np.einsum("i,j,k->ijk", *[np.array([1.0, 2.0, 1.0]) / 4] * 3)
"""A separable 3x3x3 binomial smoother: its centre weight (1/2)^3 = 0.125 is its divergence per voxel."""


def smooth(volume: np.ndarray) -> np.ndarray:
    """The binomial smoother with periodic edges, so every voxel's own weight is exactly the centre weight."""
    return ndimage.convolve(volume.astype(np.float64), SMOOTHER, mode="wrap")


def soft_threshold(volume: np.ndarray, level: float = 2 * SIGMA) -> np.ndarray:
    """Voxel-wise soft thresholding, whose divergence is the count of voxels above the level."""
    return np.sign(volume) * np.maximum(np.abs(volume) - level, 0.0)


def test_identity_denoiser_has_sure_sigma_squared(noisy_template) -> None:
    """Returning the input: SURE is sigma^2 per voxel, as is the true error of the noisy input."""
    noisy = noisy_template(20.0)
    estimate = monte_carlo_sure(lambda y: y, noisy, SIGMA)
    assert estimate.mse == pytest.approx(SIGMA**2, rel=TOLERANCE)
    assert estimate.divergence_per_voxel == pytest.approx(1.0, rel=TOLERANCE)
    assert estimate.rmse == pytest.approx(SIGMA, rel=TOLERANCE)


@pytest.mark.slow
def test_monte_carlo_divergence_of_a_linear_smoother_is_its_centre_weight(noisy_template) -> None:
    """A convolution's divergence is N x its centre weight; the probes find it, and SURE the true error."""
    noisy = noisy_template(20.0)
    clean = noisy_template(0.0)
    estimate = monte_carlo_sure(smooth, noisy, SIGMA)
    assert estimate.divergence_per_voxel == pytest.approx(SMOOTHER[1, 1, 1], rel=TOLERANCE)
    true_mse = float(np.mean((smooth(noisy) - clean) ** 2))
    assert estimate.mse == pytest.approx(true_mse, rel=TOLERANCE)
    exact = float(np.mean((noisy - smooth(noisy)) ** 2)) - SIGMA**2 + 2 * SIGMA**2 * SMOOTHER[1, 1, 1]
    assert estimate.mse == pytest.approx(exact, rel=TOLERANCE / 4)


@pytest.mark.slow
def test_several_probes_give_a_standard_error(noisy_template) -> None:
    """Four probes report a Monte-Carlo standard error that covers the exact divergence."""
    noisy = noisy_template(20.0)
    estimate = monte_carlo_sure(smooth, noisy, SIGMA, probes=4, seed=1)
    exact = float(np.mean((noisy - smooth(noisy)) ** 2)) - SIGMA**2 + 2 * SIGMA**2 * SMOOTHER[1, 1, 1]
    assert estimate.probes == 4 and estimate.mse_standard_error is not None
    assert 0 < estimate.mse_standard_error < 0.01 * estimate.mse
    assert abs(estimate.mse - exact) < 5 * estimate.mse_standard_error
    assert monte_carlo_sure(smooth, noisy, SIGMA).mse_standard_error is None  # one probe: no spread


@pytest.mark.slow
def test_one_probe_has_a_standard_error_from_the_slices_that_covers_the_true_error(noisy_template) -> None:
    """With one probe (one extra call) the estimate still has a standard error, from the spread of its
    per-slice terms: the true error lies within a few of them, and fewer voxels give a wider one."""
    noisy = noisy_template(20.0)
    clean = noisy_template(0.0)
    calls = []

    def counting(y: np.ndarray) -> np.ndarray:
        calls.append(1)
        return smooth(y)

    result = smooth(noisy)
    estimate = monte_carlo_sure(counting, noisy, SIGMA, result=result)
    assert len(calls) == 1 and estimate.mse_standard_error is None
    error = estimate.mse_slice_standard_error
    assert error is not None and 0 < error < 0.05 * estimate.mse
    true_mse = float(np.mean((result - clean) ** 2))
    assert abs(estimate.mse - true_mse) < 4 * error
    fewer = np.zeros(noisy.shape, dtype=bool)
    fewer[::3] = True  # a third of the voxels, the same mix of anatomy and air
    on_fewer = monte_carlo_sure(smooth, noisy, SIGMA, result=result, mask=fewer)
    narrow = on_fewer.mse_slice_standard_error
    assert narrow is not None and narrow > 1.5 * error  # sqrt(3) = 1.73 expected
    assert abs(on_fewer.mse - float(np.mean((result - clean)[fewer] ** 2))) < 4 * narrow
    two = np.zeros(noisy.shape, dtype=bool)
    two[40:42] = True
    assert monte_carlo_sure(smooth, noisy, SIGMA, result=result, mask=two).mse_slice_standard_error is None


@pytest.mark.slow
def test_a_non_smooth_denoiser_matches_its_exact_sure(noisy_template) -> None:
    """Soft thresholding (kinks at +-level): the probe divergence matches the exact count of kept voxels."""
    noisy = noisy_template(20.0, seed=0)  # the probes' seed too: they must not be this very noise
    clean = noisy_template(0.0)
    estimate = monte_carlo_sure(soft_threshold, noisy, SIGMA)
    kept = float(np.mean(np.abs(noisy) > 2 * SIGMA))
    assert estimate.divergence_per_voxel == pytest.approx(kept, rel=TOLERANCE)
    true_mse = float(np.mean((soft_threshold(noisy) - clean) ** 2))
    assert estimate.mse == pytest.approx(true_mse, rel=TOLERANCE)


@pytest.mark.slow
def test_sure_can_be_restricted_to_a_mask(noisy_template) -> None:
    """An oracle in one half and the identity in the other: SURE ~0 and ~sigma^2 on the two halves."""
    noisy = noisy_template(20.0)
    clean = noisy_template(0.0)
    left = np.zeros(noisy.shape, dtype=bool)
    left[:, :, : noisy.shape[2] // 2] = True

    def half_oracle(y: np.ndarray) -> np.ndarray:
        return np.where(left, clean, y)

    on_left = monte_carlo_sure(half_oracle, noisy, SIGMA, mask=left)
    on_right = monte_carlo_sure(half_oracle, noisy, SIGMA, mask=~left)
    assert abs(on_left.mse) < TOLERANCE * SIGMA**2
    assert on_right.mse == pytest.approx(SIGMA**2, rel=TOLERANCE)
    assert on_left.voxels == left.sum() and on_right.voxels == (~left).sum()


@pytest.mark.slow
def test_error_correlation_tells_over_from_under_smoothing(noisy_template) -> None:
    """The Stein-corrected correlation of result and error matches the truth: > 0 blurred, < 0 noise kept."""
    noisy = noisy_template(20.0)
    clean = noisy_template(0.0)
    for denoiser, sign in ((lambda y: ndimage.gaussian_filter(y, (0, 2, 2)), 1), (lambda y: y, -1)):
        estimate = monte_carlo_sure(denoiser, noisy, SIGMA)
        result = denoiser(noisy)
        error = clean - result
        true = float(np.mean((result - result.mean()) * (error - error.mean())))
        true /= float(result.std()) * float(np.sqrt(np.mean(error**2)))
        assert np.sign(estimate.error_correlation) == sign
        assert estimate.error_correlation == pytest.approx(true, abs=0.02)


@pytest.mark.slow
def test_sigma_sensitivity_predicts_the_effect_of_a_wrong_sigma(noisy_template) -> None:
    """The reported % change of the RMSE per +1 % of sigma matches recomputing SURE with sigma x 1.01."""
    noisy = noisy_template(20.0)
    estimate = monte_carlo_sure(smooth, noisy, SIGMA)
    moved = monte_carlo_sure(smooth, noisy, SIGMA * 1.01)
    observed = 100 * (moved.rmse / estimate.rmse - 1)
    assert estimate.sigma_sensitivity == pytest.approx(observed, rel=0.05)
    assert estimate.sigma_sensitivity < -1  # a smoother's error estimate is very sensitive to sigma


@pytest.mark.slow
def test_result_and_data_range_are_used_as_given(noisy_template) -> None:
    """A given result saves the first call; PSNR uses the stated data range, by default the result's range."""
    noisy = noisy_template(20.0)
    calls = []

    def counting(y: np.ndarray) -> np.ndarray:
        calls.append(1)
        return smooth(y)

    estimate = monte_carlo_sure(counting, noisy, SIGMA, result=smooth(noisy), probes=2, data_range=1.0)
    assert len(calls) == 2  # one call per probe, none for the result
    assert estimate.data_range == 1.0
    assert estimate.psnr == pytest.approx(-10 * np.log10(estimate.mse), rel=1e-9)
    default = monte_carlo_sure(smooth, noisy, SIGMA)
    assert default.data_range == pytest.approx(float(np.ptp(smooth(noisy))))


def test_a_2d_image_and_float32_inputs_are_passed_as_they_are(noisy_template) -> None:
    """The denoiser receives the image in its own shape and dtype (a 2D float32 slice stays so)."""
    image = noisy_template(20.0)[47].astype(np.float32)
    seen = []

    def recording(y: np.ndarray) -> np.ndarray:
        seen.append((y.shape, y.dtype))
        return y

    estimate = monte_carlo_sure(recording, image, SIGMA)
    assert set(seen) == {(image.shape, np.dtype(np.float32))}
    assert estimate.mse == pytest.approx(SIGMA**2, rel=0.05)  # 11583 pixels: sd 2 sqrt(2/N) = 2.6 %


def test_invalid_arguments_are_refused(noisy_template) -> None:
    """A bad sigma, no probes, a denoiser that changes the shape or returns NaN, a wrong mask: clear errors."""
    noisy = noisy_template(20.0)
    with pytest.raises(ConfigError, match="sigma"):
        monte_carlo_sure(smooth, noisy, 0.0)
    with pytest.raises(ConfigError, match="probes"):
        monte_carlo_sure(smooth, noisy, SIGMA, probes=0)
    with pytest.raises(ShapeMismatchError, match="denoiser returned shape"):
        monte_carlo_sure(lambda y: y[:-1], noisy, SIGMA)
    with pytest.raises(JobError, match="NaN"):
        monte_carlo_sure(lambda y: y * np.nan, noisy, SIGMA)
    with pytest.raises(ShapeMismatchError, match="mask"):
        monte_carlo_sure(smooth, noisy, SIGMA, mask=np.ones((3, 3), dtype=bool))
