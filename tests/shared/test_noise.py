"""Synthetic noise: sigma on the 0-255 scale, seeded, unclipped, independent copies."""

from __future__ import annotations

import numpy as np
import pytest

from shared.errors import ConfigError
from shared.noise import add_noise, check_sigma, noisy_pair, sigma_to_unit


def test_gaussian_sigma_is_on_the_0_255_scale(mni_volume):
    """sigma=20 adds noise whose sample std is 20/255 of the normalised range."""
    clean = mni_volume.data[::2, ::2, ::2]
    noisy = add_noise(clean, 20, np.random.default_rng(0))
    residual = noisy - clean
    assert abs(residual.std() - 20 / 255) < 0.002
    assert abs(residual.mean()) < 0.001


def test_noise_is_not_clipped(mni_volume):
    """Values below 0 and above 1 stay, so the noise statistics are exact."""
    noisy = add_noise(mni_volume.data[::2, ::2, ::2], 20, np.random.default_rng(1))
    assert noisy.min() < 0.0
    assert noisy.max() > 1.0


def test_same_seed_same_noise_other_seed_other_noise():
    """A seed reproduces its noise exactly; another seed does not."""
    clean = np.zeros((4, 32, 32), dtype=np.float32)
    a = add_noise(clean, 5, np.random.default_rng(7))
    b = add_noise(clean, 5, np.random.default_rng(7))
    c = add_noise(clean, 5, np.random.default_rng(8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_pair_copies_are_independent():
    """The two copies of an N2N pair have uncorrelated noise of the same sigma."""
    clean = np.full((8, 64, 64), 0.5, dtype=np.float32)
    first, second = noisy_pair(clean, 20, np.random.default_rng(0))
    n1, n2 = (first - clean).ravel(), (second - clean).ravel()
    assert abs(np.corrcoef(n1, n2)[0, 1]) < 0.03
    assert abs(n1.std() - n2.std()) < 0.002


def test_rician_noise_is_magnitude_of_complex_gaussian():
    """Rician noise is non-negative and biased upwards on a dark background, as in magnitude MRI."""
    dark = np.zeros((16, 64, 64), dtype=np.float32)
    noisy = add_noise(dark, 20, np.random.default_rng(0), "rician")
    s = 20 / 255
    assert noisy.min() >= 0.0
    # The mean of a Rayleigh distribution is s * sqrt(pi / 2).
    assert abs(noisy.mean() - s * np.sqrt(np.pi / 2)) < 0.002


@pytest.mark.parametrize("sigma", [-1.0, 0.0, 255.5])
def test_sigma_outside_its_range_is_refused_with_the_rule(sigma: float) -> None:
    """Every path checks sigma with one rule: above 0 and at most 255, said in the message."""
    rule = r"sigma must be > 0 and <= 255 \(0-255 scale of the normalised range\)"
    with pytest.raises(ConfigError, match=rule):
        check_sigma(sigma)
    with pytest.raises(ConfigError, match=rule):
        sigma_to_unit(sigma)


def test_unknown_noise_kind_is_refused():
    """An unknown noise kind is a clear error."""
    with pytest.raises(ValueError, match="unknown noise kind 'poisson'"):
        add_noise(np.zeros((2, 2)), 5, np.random.default_rng(0), "poisson")  # type: ignore[arg-type]
