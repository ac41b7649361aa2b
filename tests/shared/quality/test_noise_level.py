"""Noise sigma of a volume: the wavelet and the air-background estimates, and their refusals."""

from __future__ import annotations

import numpy as np
import pytest

from shared.errors import ConfigError, ConstantVolumeError, NonFiniteVoxelsError
from shared.intensity import IntensityMapping, Normalisation
from shared.quality import estimate_noise_level
from shared.quality.background_noise import MIN_BACKGROUND_VOXELS

# The random error of both estimates is far below 1 % on these volumes (standard errors of 0.1-0.3 %), so
# the tolerances bound their bias. The background estimate measures pure noise: 2 %. The wavelet estimate
# on a smooth image: 2 %; on the 2 mm template, whose fine anatomy leaks into the wavelet details, the
# issue's target of 5 % (measured: +3.6 % at sigma 20).
BACKGROUND_TOLERANCE = 0.02
WAVELET_SMOOTH_TOLERANCE = 0.02
WAVELET_ANATOMY_TOLERANCE = 0.05


@pytest.mark.parametrize("sigma", [5.0, 20.0])
@pytest.mark.slow
def test_gaussian_noise_is_measured_on_the_air(noisy_template, sigma: float) -> None:
    """Gaussian noise on the template: the air gives sigma within 2 % and is the preferred estimate."""
    level = estimate_noise_level(noisy_template(sigma))
    assert level.source == "background"
    assert level.background.distribution == "gaussian"
    assert level.background.sigma == pytest.approx(sigma / 255, rel=BACKGROUND_TOLERANCE)
    assert level.sigma == level.background.sigma


@pytest.mark.parametrize("sigma", [5.0, 20.0])
@pytest.mark.slow
def test_rician_noise_is_measured_on_the_rayleigh_air(noisy_template, sigma: float) -> None:
    """Rician noise: the Rayleigh air gives sigma within 2 %; the wavelet figure is pulled down by it."""
    level = estimate_noise_level(noisy_template(sigma, "rician"))
    assert level.source == "background"
    assert level.background.distribution == "rayleigh"
    assert level.background.sigma == pytest.approx(sigma / 255, rel=BACKGROUND_TOLERANCE)
    assert level.background.shape_ratio == pytest.approx(1.0, abs=0.02)
    assert level.background.background_fraction > 0.5  # the template's air, not its dark tissue
    assert level.background.standard_error < 0.005 * level.background.sigma
    assert level.wavelet.sigma < 0.9 * level.background.sigma  # as the wavelet docstring warns


@pytest.mark.parametrize("sigma", [20.0, 50.0])
@pytest.mark.slow
def test_wavelet_sigma_on_the_template(noisy_template, sigma: float) -> None:
    """The wavelet estimate over the slices with anatomy is within the issue's 5 % on Gaussian noise."""
    level = estimate_noise_level(noisy_template(sigma))
    assert level.wavelet.sigma == pytest.approx(sigma / 255, rel=WAVELET_ANATOMY_TOLERANCE)
    assert 0 < level.wavelet.slices_used < level.wavelet.slices_total  # the empty end slices are left out


def test_wavelet_sigma_on_a_smooth_volume_without_air() -> None:
    """On a smooth image filling the field of view, the wavelet sigma is within 2 % and is the one used."""
    z, y, x = np.mgrid[0:24, 0:96, 0:80]
    smooth = 100 + 40 * np.sin(x / 15.0) * np.cos(y / 20.0) + z
    noisy = smooth + np.random.default_rng(2).normal(0, 3.0, smooth.shape)
    level = estimate_noise_level(noisy)
    assert level.wavelet.sigma == pytest.approx(3.0, rel=WAVELET_SMOOTH_TOLERANCE)
    assert level.source == "wavelet" and level.background.sigma is None


@pytest.mark.slow
def test_sigma_255_is_on_the_scale_of_the_mapping(noisy_template, template_2mm) -> None:
    """sigma_255 = sigma / (the mapping's range) * 255; by default the methods' percentile range."""
    noisy = noisy_template(20.0, "rician")
    default = estimate_noise_level(noisy)
    on_clean_range = estimate_noise_level(noisy, mapping=IntensityMapping.min_max(template_2mm))
    assert default.scale == pytest.approx(Normalisation().fit(noisy).scale)
    assert default.sigma_255 == pytest.approx(default.sigma / default.scale * 255)
    assert on_clean_range.scale == pytest.approx(float(np.ptp(template_2mm)))
    assert on_clean_range.sigma_255 == pytest.approx(default.sigma / float(np.ptp(template_2mm)) * 255)


def test_no_background_gives_no_background_estimate_and_says_why(noisy_template) -> None:
    """A block from inside the brain has no air: no background sigma, a reason, and the wavelet one used."""
    inside = noisy_template(20.0, "rician")[30:60, 35:80, 30:70]
    level = estimate_noise_level(inside)
    assert level.background.sigma is None and level.background.sigma_255 is None
    assert "no air background" in level.background.reason
    assert level.source == "wavelet" and level.sigma == level.wavelet.sigma


def test_too_little_background_is_refused_with_the_count(noisy_template) -> None:
    """An image whose air is under the minimum count says how much it found and how much it needs."""
    small = noisy_template(20.0, "rician")[47, :40, :45]  # a corner of one slice: some air, some brain
    level = estimate_noise_level(small)
    assert level.background.sigma is None
    assert level.background.background_voxels < MIN_BACKGROUND_VOXELS
    assert f"at least {MIN_BACKGROUND_VOXELS}" in level.background.reason


def test_a_masked_background_holds_no_noise(template_2mm) -> None:
    """The clean template, whose air is exactly 0, gets no background estimate: the reason says masked."""
    level = estimate_noise_level(template_2mm)
    assert level.background.sigma is None
    assert "masked" in level.background.reason


@pytest.mark.slow
def test_a_multi_coil_background_is_not_rayleigh(template_2mm) -> None:
    """A sum of squares over 4 coils (non-central chi air) is refused rather than read as Rician noise."""
    rng = np.random.default_rng(3)
    sigma = 20.0 / 255
    channels = [template_2mm / 2 + rng.normal(0, sigma, template_2mm.shape) for _ in range(4)]
    channels += [rng.normal(0, sigma, template_2mm.shape) for _ in range(4)]
    combined = np.sqrt(sum(channel**2 for channel in channels))
    level = estimate_noise_level(combined)
    assert level.background.sigma is None
    assert "not Rayleigh" in level.background.reason
    assert level.background.shape_ratio < 0.9


@pytest.mark.slow
def test_integer_magnitude_data_keep_a_small_sigma(template_2mm) -> None:
    """Rician noise of 3 counts on a 0-300 image, stored as integers as DICOM does, is measured within 2 %."""
    rng = np.random.default_rng(4)
    signal = template_2mm * 300
    magnitude = np.hypot(signal + rng.normal(0, 3, signal.shape), rng.normal(0, 3, signal.shape))
    level = estimate_noise_level(np.round(magnitude))
    assert level.background.distribution == "rayleigh"
    assert level.background.sigma == pytest.approx(3.0, rel=BACKGROUND_TOLERANCE)


@pytest.mark.slow
def test_a_few_bright_outliers_in_the_air_barely_move_the_estimate(noisy_template) -> None:
    """Hot voxels in 0.5 % of the air (spikes, a marker) move the median-based sigma by under 1 %."""
    noisy = noisy_template(20.0, "rician")
    unspiked = estimate_noise_level(noisy).background.sigma
    spiked = noisy.copy()
    air = np.flatnonzero(spiked < 0.05)
    chosen = np.random.default_rng(5).choice(air, size=air.size // 200, replace=False)
    spiked.flat[chosen] = 1.0
    assert estimate_noise_level(spiked).background.sigma == pytest.approx(unspiked, rel=0.01)


def test_a_single_2d_slice_works(noisy_template) -> None:
    """A 2D image is one slice: both estimates work on a slice of the template with air around it."""
    level = estimate_noise_level(noisy_template(20.0, "rician")[47])
    assert level.wavelet.slices_total == 1 and level.wavelet.slices_used == 1
    assert level.background.sigma == pytest.approx(20.0 / 255, rel=0.05)  # 7000 air voxels: 1 % se


@pytest.mark.slow
def test_slices_can_be_taken_across_another_axis(noisy_template) -> None:
    """Sagittal slices (axis 2) give the same sigma and report their axis and count."""
    noisy = noisy_template(20.0)
    level = estimate_noise_level(noisy, slice_axis=2)
    assert level.wavelet.slice_axis == 2 and level.wavelet.slices_total == noisy.shape[2]
    assert level.wavelet.sigma == pytest.approx(20.0 / 255, rel=WAVELET_ANATOMY_TOLERANCE)
    assert level.background.sigma == pytest.approx(20.0 / 255, rel=BACKGROUND_TOLERANCE)
    with pytest.raises(ConfigError, match="slice_axis"):
        estimate_noise_level(noisy, slice_axis=3)


def test_json_is_complete_and_null_where_unavailable(noisy_template) -> None:
    """The model dumps to JSON with every field, nulls and a reason for the refused estimate."""
    inside = noisy_template(20.0, "rician")[30:60, 35:80, 30:70]
    dumped = estimate_noise_level(inside).model_dump(mode="json")
    assert set(dumped) == {"sigma", "sigma_255", "source", "scale", "wavelet", "background", "local"}
    assert dumped["background"]["sigma"] is None and isinstance(dumped["background"]["reason"], str)
    assert dumped["wavelet"]["reason"] is None and dumped["source"] == "wavelet"
    assert set(dumped["local"]) == {"sigma", "sigma_255", "blocks_used", "reason"}


def test_constant_and_non_finite_volumes_are_refused() -> None:
    """A constant volume has no range to scale to; NaN voxels are refused by name."""
    with pytest.raises(ConstantVolumeError):
        estimate_noise_level(np.ones((4, 16, 16)))
    broken = np.zeros((4, 16, 16))
    broken[0, 0, 0] = np.nan
    with pytest.raises(NonFiniteVoxelsError, match=r"scan\.nii"):
        estimate_noise_level(broken, name="scan.nii")


@pytest.mark.parametrize(("correlation", "in_plane"), [(0.8, True), (1.2, False)])
def test_correlated_noise_under_a_masked_background_is_measured_on_flat_anatomy(
    mni_volume, correlation: float, in_plane: bool
) -> None:
    """Smoothed noise (a scanner's k-space filter, an interpolation) under a zeroed background: the sigma
    told to the models is within 20 % of the truth, where the wavelet estimate reads a third of it or less."""
    from services.n2n.prior.corruption import unit_noise

    z, y, x = mni_volume.data.shape
    clean = mni_volume.data[
        (z - 64) // 2 : (z - 64) // 2 + 64, (y - 96) // 2 : (y - 96) // 2 + 96, (x - 80) // 2 :
    ][:, :, :80]
    rng = np.random.default_rng(5)
    if in_plane:
        noise = np.stack([unit_noise(clean.shape[1:], correlation, rng) for _ in clean])
    else:
        noise = unit_noise(clean.shape, correlation, rng)
    sigma = 20 / 255
    noisy = np.where(clean < 0.02, 0.0, clean + sigma * noise).astype(np.float32)
    level = estimate_noise_level(noisy, mapping=IntensityMapping.min_max(clean))
    assert level.background.sigma is None  # the zeroed air holds no noise
    assert level.wavelet.sigma < 0.4 * sigma
    assert level.source == "local"
    assert level.sigma == pytest.approx(sigma, rel=0.2)


def test_white_noise_under_a_masked_background_keeps_the_wavelet_estimate(mni_volume) -> None:
    """White noise, zeroed air: the wavelet estimate (one-voxel details) is kept; the local one agrees."""
    z, y, x = mni_volume.data.shape
    clean = mni_volume.data[
        (z - 64) // 2 : (z - 64) // 2 + 64, (y - 96) // 2 : (y - 96) // 2 + 96, (x - 80) // 2 :
    ][:, :, :80]
    noisy = clean + np.random.default_rng(6).normal(0, 20 / 255, clean.shape)
    noisy = np.where(clean < 0.02, 0.0, noisy).astype(np.float32)
    level = estimate_noise_level(noisy, mapping=IntensityMapping.min_max(clean))
    assert level.source == "wavelet"
    assert level.sigma == pytest.approx(20 / 255, rel=0.05)
    assert level.local.sigma == pytest.approx(20 / 255, rel=0.1)
