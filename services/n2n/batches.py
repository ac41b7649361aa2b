"""The training batches of one epoch: random crops of random slice stacks, and their targets.

The input of a crop is a noisy slice stack (2 context + 1 channels); its target is the middle slice of
the other noisy copy (Noise2Noise), of the clean volume (`targets="clean"`, Noise2Clean), or, for a single
scan, of its recorrupted complement: input y + a z, target y - z / a with z Gaussian at the scan's noise
level (Recorrupted-to-Recorrupted), drawn afresh for every crop.

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
    shapes = sorted({stack.shape[-2:] for stack in data.train.first})
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
    """(clean stacks, sigma, kind) to redraw noise from each epoch, or None for fixed pairs."""
    if not config.resample_noise:
        return None
    if data.train.clean is None or data.sigma is None or data.noise is None:
        raise ConfigError(
            "resample_noise needs clean volumes and a sigma; real noisy pairs cannot be redrawn"
        )
    return data.train.clean, data.sigma, data.noise


def _clean_targets(data: N2NTrainingData, config: N2NConfig) -> list[np.ndarray] | None:
    """The clean training stacks when they are the targets (Noise2Clean), else None."""
    if config.targets != "clean":
        return None
    if data.train.clean is None or data.source != "synthetic":
        raise ConfigError(
            "targets='clean' (Noise2Clean) needs clean volumes with synthetic noise; real noisy scans have none"
        )
    return data.train.clean


def recorrupted(
    stack: np.ndarray, noise_std: float, alpha: float, middle: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One Recorrupted-to-Recorrupted pair of a noisy stack: (y + alpha z, (y - z / alpha) of the middle).

    With z ~ N(0, std^2) drawn independently of the scan's own noise n ~ N(0, std^2), the two noises
    n + alpha z and n - z / alpha are uncorrelated (std^2 - std^2 = 0) and, being Gaussian, independent:
    the pair is a Noise2Noise pair made from one scan (Pang, Zheng, Quan and Ji, CVPR 2021).
    """
    z = rng.normal(0.0, noise_std, size=stack.shape).astype(np.float32)
    return stack + alpha * z, (stack[middle] - z[middle] / alpha)[None]


def _augmented(rng: np.random.Generator, *arrays: np.ndarray) -> list[np.ndarray]:
    """The same random in-plane rotation by k x 90 degrees and flip of every array (..., H, W)."""
    turns, flip = int(rng.integers(4)), bool(rng.integers(2))
    out = []
    for array in arrays:
        array = np.rot90(array, k=turns, axes=(-2, -1))
        out.append(np.ascontiguousarray(np.flip(array, axis=-1) if flip else array))
    return out


def input_level(noise_std: float, single: bool, alpha: float) -> float:
    """The noise sigma of a training input: the scan's own, or of y + alpha z for a recorrupted single scan
    (variance std^2 (1 + alpha^2)). A noise-level-aware network is told it."""
    return noise_std * math.sqrt(1.0 + alpha**2) if single else noise_std


def epoch_batches(
    data: N2NTrainingData, config: N2NConfig, epoch: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield (input, target, levels) batches of shapes (B, 2 context + 1, h, w), (B, 1, h, w) and (B,),
    float32, of epoch `epoch` (0-based); levels are the inputs' noise sigmas (zeros where unknown)."""
    resample = _resampling(data, config)
    clean_stacks = _clean_targets(data, config)
    train = data.train
    middle = train.middle
    n = len(train)
    steps = steps_per_epoch(data, config)
    crop_h, crop_w = crop_shape(data, config)
    if config.augment and crop_h != crop_w:
        crop_h = crop_w = min(crop_h, crop_w)  # square crops keep their shape under rotation
    rng = np.random.default_rng([config.seed, BATCH_STREAM, epoch])
    noise_rng = np.random.default_rng([config.seed, RESAMPLE_STREAM, epoch])
    needed = steps * config.batch_size
    order = np.concatenate([rng.permutation(n) for _ in range(math.ceil(needed / n))])[:needed]
    for step in range(steps):
        inputs, targets, levels = [], [], []
        for index in order[step * config.batch_size : (step + 1) * config.batch_size]:
            std = train.noise_std[index] if train.noise_std is not None else 0.0
            levels.append(input_level(std, train.second is None, config.recorruption))
            height, width = train.first[index].shape[-2:]
            y = int(rng.integers(0, height - crop_h + 1))
            x = int(rng.integers(0, width - crop_w + 1))
            window = (slice(None), slice(y, y + crop_h), slice(x, x + crop_w))
            if train.second is None:  # a single scan: a fresh recorruption of it
                assert train.noise_std is not None
                a, target = recorrupted(
                    train.first[index][window], train.noise_std[index], config.recorruption, middle, noise_rng
                )
            else:
                if resample is not None:
                    clean, sigma, kind = resample
                    a, b = noisy_pair(clean[index][window], sigma, noise_rng, kind)
                else:
                    a, b = train.first[index][window], train.second[index][window]
                # Noise2Noise is symmetric: each pair teaches both directions. Noise2Clean draws the same
                # coin to pick which noisy copy is the input, so both see the same crops and inputs.
                if rng.random() < 0.5:
                    a, b = b, a
                target = (clean_stacks[index][window] if clean_stacks is not None else b)[middle : middle + 1]
            if config.augment:
                a, target = _augmented(rng, a, target)
            inputs.append(a)
            targets.append(target)
        yield (
            np.stack(inputs).astype(np.float32, copy=False),
            np.stack(targets).astype(np.float32, copy=False),
            np.asarray(levels, dtype=np.float32),
        )
