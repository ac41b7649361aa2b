"""The training batches of one epoch: random crops of random pairs, in a random direction.

With `targets="clean"` (Noise2Clean) the target of each crop is the clean slice instead of the other copy.

Every random choice of epoch e comes from a generator seeded with (seed, stream, e), so an epoch's
batches are a pure function of the config, the data and e: a training resumed at epoch e sees exactly
the batches an uninterrupted one would have seen.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from services.n2n.data import N2NTrainingData
from shared.errors import ConfigError
from shared.methods.n2n import N2NConfig
from shared.noise import NoiseKind, noisy_pair

BATCH_STREAM = 3
RESAMPLE_STREAM = 4


def steps_per_epoch(data: N2NTrainingData, config: N2NConfig) -> int:
    """Optimisation steps in one epoch: as configured, else one pass over the training slices."""
    return config.steps_per_epoch or math.ceil(len(data.train) / config.batch_size)


def crop_shape(data: N2NTrainingData, config: N2NConfig) -> tuple[int, int]:
    """(height, width) of the training crops: crop_size clamped to the smallest slice, or whole slices."""
    shapes = sorted({image.shape for image in data.train.first})
    if config.crop_size is None:
        if len(shapes) > 1:
            raise ConfigError(
                f"whole-slice training needs training slices of one shape, got {len(shapes)} shapes "
                f"({', '.join('x'.join(map(str, s)) for s in shapes)}); set crop_size"
            )
        height, width = shapes[0]
        return height, width
    return min(config.crop_size, *(s[0] for s in shapes)), min(config.crop_size, *(s[1] for s in shapes))


def _resampling(data: N2NTrainingData, config: N2NConfig) -> tuple[list[np.ndarray], float, NoiseKind] | None:
    """(clean slices, sigma, kind) to redraw noise from each epoch, or None for fixed pairs."""
    if not config.resample_noise:
        return None
    if data.train.clean is None or data.sigma is None or data.noise is None:
        raise ConfigError(
            "resample_noise needs clean volumes and a sigma; real noisy pairs cannot be redrawn"
        )
    return data.train.clean, data.sigma, data.noise


def _clean_targets(data: N2NTrainingData, config: N2NConfig) -> list[np.ndarray] | None:
    """The clean training slices when they are the targets (Noise2Clean), else None."""
    if config.targets != "clean":
        return None
    if data.train.clean is None:
        raise ConfigError(
            "targets='clean' (Noise2Clean) needs clean volumes with synthetic noise; real noisy pairs have none"
        )
    return data.train.clean


def epoch_batches(
    data: N2NTrainingData, config: N2NConfig, epoch: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (input, target) batches of shape (B, 1, h, w) float32 for epoch `epoch` (0-based)."""
    resample = _resampling(data, config)
    clean_slices = _clean_targets(data, config)
    n = len(data.train)
    steps = steps_per_epoch(data, config)
    crop_h, crop_w = crop_shape(data, config)
    rng = np.random.default_rng([config.seed, BATCH_STREAM, epoch])
    noise_rng = np.random.default_rng([config.seed, RESAMPLE_STREAM, epoch])
    needed = steps * config.batch_size
    order = np.concatenate([rng.permutation(n) for _ in range(math.ceil(needed / n))])[:needed]
    for step in range(steps):
        inputs, targets = [], []
        for index in order[step * config.batch_size : (step + 1) * config.batch_size]:
            height, width = data.train.first[index].shape
            y = int(rng.integers(0, height - crop_h + 1))
            x = int(rng.integers(0, width - crop_w + 1))
            window = (slice(y, y + crop_h), slice(x, x + crop_w))
            if resample is not None:
                clean, sigma, kind = resample
                a, b = noisy_pair(clean[index][window], sigma, noise_rng, kind)
            else:
                a, b = data.train.first[index][window], data.train.second[index][window]
            # Noise2Noise is symmetric: each pair teaches both directions. Noise2Clean draws the same
            # coin to pick which noisy copy is the input, so both see the same crops and inputs.
            if rng.random() < 0.5:
                a, b = b, a
            if clean_slices is not None:
                b = clean_slices[index][window]
            inputs.append(a)
            targets.append(b)
        yield np.stack(inputs)[:, None], np.stack(targets)[:, None]
