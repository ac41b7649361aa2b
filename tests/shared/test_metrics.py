"""PSNR, RMSE and SSIM against hand-computed values, per volume and per slice."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.errors import ShapeMismatchError
from shared.metrics import compare, evaluate, psnr_from_mse


def test_psnr_and_rmse_match_the_paper_formulas():
    """A uniform error of 0.1 on data range 1 gives RMSE 0.1 and PSNR 20 dB exactly."""
    reference = np.zeros((4, 16, 16))
    reference[0, 0, 0] = 1.0  # data range 1
    prediction = reference + 0.1
    values = compare(reference, prediction, data_range=1.0)
    assert values.rmse == pytest.approx(0.1, abs=1e-12)
    assert values.psnr == pytest.approx(20.0, abs=1e-9)


def test_psnr_uses_the_given_data_range():
    """PSNR = 20 log10(MAX) - 10 log10(MSE): doubling MAX adds 6.02 dB."""
    rng = np.random.default_rng(0)
    reference = rng.random((16, 16))
    prediction = reference + rng.normal(0, 0.05, reference.shape)
    mse = float(np.mean((reference - prediction) ** 2))
    assert compare(reference, prediction, 1.0).psnr == pytest.approx(-10 * math.log10(mse), abs=1e-9)
    assert compare(reference, prediction, 2.0).psnr == pytest.approx(
        20 * math.log10(2) - 10 * math.log10(mse)
    )


def test_psnr_from_mse_is_scikit_images_psnr():
    """The one by-hand formula (for pooled or estimated errors) agrees with `compare` (scikit-image's)."""
    rng = np.random.default_rng(1)
    reference = rng.random((8, 16, 16))
    prediction = reference + rng.normal(0, 0.05, reference.shape)
    mse = float(np.mean((reference - prediction) ** 2))
    for data_range in (1.0, 2.5):
        assert psnr_from_mse(mse, data_range) == pytest.approx(
            compare(reference, prediction, data_range).psnr, abs=1e-9
        )
    assert psnr_from_mse(mse) == pytest.approx(compare(reference, prediction, 1.0).psnr, abs=1e-9)


def test_psnr_from_mse_of_a_noise_variance_is_the_inputs_own_psnr():
    """sigma 20 on range 255: 20 log10(255 / 20) = 22.11 dB."""
    assert psnr_from_mse(20.0**2, 255.0) == pytest.approx(20 * math.log10(255 / 20), abs=1e-12)


@pytest.mark.parametrize("mse", [0.0, -1e-6, -3.0])
def test_psnr_from_mse_is_infinite_at_or_below_zero(mse):
    """An unbiased MSE estimate can come out at or below zero; its PSNR is then infinite, not an error."""
    assert psnr_from_mse(mse, 1.0) == math.inf


def test_identical_volumes_score_perfectly(mni_volume):
    """A volume against itself: infinite PSNR, zero RMSE, SSIM 1."""
    data = mni_volume.data[80:84, ::4, ::4]
    values = compare(data, data, 1.0)
    assert values.psnr == math.inf and values.rmse == 0.0 and values.ssim == pytest.approx(1.0)


def test_evaluate_reports_volume_slice_mean_and_each_slice(mni_volume):
    """evaluate() gives the whole-volume value, the per-slice mean and one entry per slice."""
    reference = mni_volume.data[60:70, ::2, ::2]
    noisy = reference + np.random.default_rng(0).normal(0, 20 / 255, reference.shape).astype(np.float32)
    report = evaluate(noisy, reference, data_range=1.0)
    assert len(report.per_slice) == 10
    assert report.slice_mean.psnr == pytest.approx(np.mean([m.psnr for m in report.per_slice]))
    # Gaussian noise of sigma 20/255 on range 1: PSNR = 20 log10(255/20) = 22.11 dB.
    assert report.volume.psnr == pytest.approx(22.11, abs=0.05)
    assert 0.0 < report.volume.ssim < 1.0


def test_default_data_range_is_the_reference_range():
    """Without an explicit range, MAX is the reference's max - min."""
    reference = np.linspace(100, 300, 8 * 16 * 16).reshape(8, 16, 16)
    report = evaluate(reference + 2.0, reference)
    assert report.data_range == pytest.approx(200.0)
    assert report.volume.psnr == pytest.approx(20 * math.log10(200 / 2), abs=1e-9)


def test_shape_mismatch_is_a_clear_error():
    """Prediction and reference of different shapes are refused with both shapes named."""
    with pytest.raises(ShapeMismatchError) as info:
        evaluate(np.zeros((2, 8, 8)), np.zeros((2, 8, 9)))
    assert str(info.value) == (
        "prediction has shape (2, 8, 8) but reference has shape (2, 8, 9); they must match"
    )
