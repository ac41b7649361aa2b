"""Synthetic noisy volumes for the paper's protocol."""

from __future__ import annotations

import numpy as np
import pytest

from services.n2v.noisy import noisy_from_clean
from shared.volume import Volume


def test_noise_has_sigma_over_255_of_the_volumes_own_range(small_mni_volume: Volume) -> None:
    """On a volume scaled 0-1000, sigma=20 adds noise of std 20/255 of that range, geometry kept."""
    scaled = small_mni_volume.with_data(small_mni_volume.data * 1000.0)

    (noisy,) = noisy_from_clean([scaled], sigma=20, seed=3)

    scale = float(scaled.data.max() - scaled.data.min())
    assert np.std(noisy.data - scaled.data) / scale == pytest.approx(20 / 255, rel=0.02)
    assert np.array_equal(noisy.affine, scaled.affine) and noisy.shape == scaled.shape


def test_noise_is_reproducible_per_seed_and_independent_per_volume(small_mni_volume: Volume) -> None:
    """The same seed gives the same noise; two volumes in one call get different noise."""
    first, second = noisy_from_clean([small_mni_volume, small_mni_volume], sigma=20, seed=0)
    (again,) = noisy_from_clean([small_mni_volume], sigma=20, seed=0)

    assert np.array_equal(first.data, again.data)
    assert not np.array_equal(first.data, second.data)


def test_rician_noise_is_available(small_mni_volume: Volume) -> None:
    """Rician noise lifts the dark background above zero, as magnitude MR noise does."""
    (noisy,) = noisy_from_clean([small_mni_volume], sigma=20, seed=0, noise="rician")

    background = small_mni_volume.data == small_mni_volume.data.min()
    assert noisy.data[background].min() >= small_mni_volume.data.min()
