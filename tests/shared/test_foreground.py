"""The anatomy test behind dropping empty slices: it must give the same answer on noisy volumes."""

from __future__ import annotations

import numpy as np
import pytest

from shared.foreground import foreground_level, holds_anatomy
from shared.intensity import IntensityMapping
from shared.slices import foreground_slices
from shared.volume import Volume


def _normalised_noisy(volume: Volume, sigma: float, seed: int = 0) -> np.ndarray:
    """The template plus Gaussian noise (sigma on the 0-255 scale), min-max normalised as N2V sees it."""
    rng = np.random.default_rng(seed)
    noisy = volume.data + rng.normal(0.0, sigma / 255.0, volume.shape).astype(np.float32)
    return IntensityMapping.min_max(noisy).normalise(noisy)


@pytest.mark.parametrize("sigma", [5.0, 20.0, 50.0])
@pytest.mark.slow
def test_noisy_volumes_keep_the_slices_of_the_clean_one(mni_volume: Volume, sigma: float) -> None:
    """Noise does not turn the empty end slices into 'anatomy' (a voxel threshold kept all 197)."""
    clean = set(foreground_slices(mni_volume.data, axis=2))
    noisy = set(foreground_slices(_normalised_noisy(mni_volume, sigma), axis=2))
    assert 0 not in noisy and mni_volume.shape[2] - 1 not in noisy
    assert len(clean ^ noisy) <= 4  # the same anatomy, give or take the faintest edge slices
    assert 130 < len(noisy) < 150


def test_pure_noise_holds_no_anatomy() -> None:
    """A volume of noise alone has no slice with anatomy."""
    noise = np.random.default_rng(1).normal(0.2, 0.08, (40, 64, 64)).astype(np.float32)
    assert foreground_slices(noise, axis=0) == []


@pytest.mark.slow
def test_patches_are_judged_against_the_volume_level(mni_volume: Volume) -> None:
    """A 3D patch of brain holds anatomy; a patch of background (of the noisy volume) does not."""
    noisy = _normalised_noisy(mni_volume, 20.0)
    level = foreground_level(noisy)
    z, y, x = (n // 2 for n in noisy.shape)
    assert holds_anatomy(noisy[z - 16 : z + 16, y - 16 : y + 16, x - 16 : x + 16], level)
    assert not holds_anatomy(noisy[:16, :16, :16], level)
