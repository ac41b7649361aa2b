"""The paper's protocol: noisy training volumes made from clean ones with a known synthetic sigma."""

from __future__ import annotations

import numpy as np

from shared.intensity import IntensityMapping
from shared.noise import NoiseKind, add_noise
from shared.volume import Volume, check_voxels


def noisy_from_clean(
    clean: list[Volume], sigma: float, seed: int, noise: NoiseKind = "gaussian"
) -> list[Volume]:
    """One noisy copy of each clean volume, with the clean volume's geometry and scale.

    Each volume is normalised to [0, 1] by its own min-max mapping, given noise of sigma/255 there
    (shared.noise), and mapped back, so sigma means the same thing whatever the scanner's scale.
    Volume i draws from the generator seeded with (seed, i): reproducible, and independent of how many
    other volumes are passed.
    """
    noisy = []
    for i, volume in enumerate(clean):
        check_voxels(volume.data, f"clean volume {i}")
        mapping = IntensityMapping.min_max(volume.data, name=f"clean volume {i}")
        rng = np.random.default_rng([seed, i])
        noisy_norm = add_noise(mapping.normalise(volume.data), sigma, rng, noise)
        noisy.append(volume.with_data(mapping.denormalise(noisy_norm)))
    return noisy
