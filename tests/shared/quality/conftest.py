"""Volumes for the quality estimators: the real MNI152 template at 2 mm, with noise of known sigma."""

from __future__ import annotations

import numpy as np
import pytest

from shared.noise import NoiseKind, add_noise
from shared.volume import Volume


@pytest.fixture(scope="session")
def template_2mm(mni_volume: Volume) -> np.ndarray:
    """The whole MNI152 template (air around the brain included) at 2 mm: 95x117x99, intensities 0-1."""
    return np.ascontiguousarray(mni_volume.data[::2, ::2, ::2])


@pytest.fixture(scope="session")
def noisy_template(template_2mm: np.ndarray):
    """Noisy copies of the 2 mm template: noisy_template(sigma on 0-255, kind, seed); noise sd sigma / 255.

    Sigma 0 gives the clean template itself, the truth the estimates are compared with.
    """

    def make(sigma: float, kind: NoiseKind = "gaussian", seed: int = 0) -> np.ndarray:
        if sigma == 0:
            return template_2mm.copy()
        return add_noise(template_2mm, sigma, np.random.default_rng(seed), kind)

    return make
