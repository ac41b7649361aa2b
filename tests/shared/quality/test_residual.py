"""What a result took out: the residual volume and its summary against the noise level."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from shared.errors import ConfigError, ShapeMismatchError
from shared.quality import foreground_mask, residual, summarise_residual

SIGMA = 20.0 / 255


def test_a_pure_noise_residual(noisy_template) -> None:
    """The oracle result (the clean template): the residual is the noise, sd ratio 1 and no correlation."""
    noisy, clean = noisy_template(20.0), noisy_template(0.0)
    summary = summarise_residual(noisy, clean, SIGMA)
    assert summary.std_ratio == pytest.approx(1.0, abs=0.01)
    assert abs(summary.correlation) < 0.01  # 1.1 million voxels: sd of r is 0.001
    assert abs(summary.residual_mean) < 0.01 * SIGMA


def test_a_residual_that_holds_anatomy(noisy_template) -> None:
    """A heavy blur takes anatomy out with the noise: sd ratio well above 1 and a positive correlation."""
    noisy = noisy_template(20.0)
    blurred = ndimage.gaussian_filter(noisy.astype(np.float64), (0, 3, 3))
    summary = summarise_residual(noisy, blurred, SIGMA)
    assert summary.std_ratio > 1.2  # over the whole volume, air (where only noise is removed) included
    assert summary.correlation > 0.1


def test_a_result_that_keeps_noise_has_a_ratio_below_one(noisy_template) -> None:
    """Half the noise left in the result: the residual is half the noise, sd ratio 0.5."""
    noisy, clean = noisy_template(20.0), noisy_template(0.0)
    summary = summarise_residual(noisy, (noisy + clean) / 2, SIGMA)
    assert summary.std_ratio == pytest.approx(0.5, abs=0.01)


def test_a_darker_result_shows_in_the_residual_mean(noisy_template) -> None:
    """A result shifted down by 0.05 leaves a residual mean of +0.05."""
    noisy, clean = noisy_template(20.0), noisy_template(0.0)
    assert summarise_residual(noisy, clean - 0.05, SIGMA).residual_mean == pytest.approx(0.05, abs=0.001)


def test_the_residual_volume_keeps_shape_and_units(noisy_template) -> None:
    """residual() is input - result as float32 in the input's shape, for a volume and a 2D image."""
    noisy, clean = noisy_template(20.0), noisy_template(0.0)
    volume = residual(noisy, clean)
    assert volume.dtype == np.float32 and volume.shape == noisy.shape
    np.testing.assert_allclose(volume, noisy - clean, atol=1e-6)
    assert residual(noisy[10], clean[10]).shape == noisy[10].shape


@pytest.mark.slow
def test_summary_over_the_foreground(noisy_template) -> None:
    """Restricted to the anatomy (foreground_mask), a blur's residual stands out more against the noise."""
    noisy = noisy_template(20.0, "rician")
    blurred = ndimage.gaussian_filter(noisy.astype(np.float64), (0, 3, 3))
    anatomy = foreground_mask(noisy)
    assert 0.2 < anatomy.mean() < 0.5  # the brain and its surroundings, not the air
    everywhere = summarise_residual(noisy, blurred, SIGMA)
    inside = summarise_residual(noisy, blurred, SIGMA, mask=anatomy)
    assert inside.voxels == int(anatomy.sum())
    assert inside.std_ratio > everywhere.std_ratio


def test_invalid_inputs_are_refused(noisy_template) -> None:
    """A non-positive sigma or a result of another shape gets a clear error."""
    noisy = noisy_template(20.0)
    with pytest.raises(ConfigError, match="noise_sigma"):
        summarise_residual(noisy, noisy, 0.0)
    with pytest.raises(ShapeMismatchError, match="result"):
        summarise_residual(noisy, noisy[:-1], SIGMA)
