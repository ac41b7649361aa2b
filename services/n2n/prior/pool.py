"""The pretraining set: generated heads, cached on disk, and the crops and batches drawn from them.

Volumes are generated once per (generator version, seed, index) and cached (~8 MB each) in
`~/.cache/fetal-denoise/synthetic/` (or `--cache`), so a resumed or repeated pretraining does not
regenerate them. Training volumes and validation volumes come from disjoint indices of one seed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.n2n.prior.corruption import TOLD_SHARE, TOLD_SPREAD, Corruption, corrupt, draw_corruption
from services.n2n.prior.synthetic import GENERATOR_VERSION, generate
from shared.atomic import atomic_path
from shared.errors import InvalidVolumeError
from shared.intensity import Normalisation

VALIDATION_OFFSET = 1_000_000
"""Validation volumes are indices from here on: never the same heads as the training volumes."""

VALIDATION_SIGMAS = (5.0, 10.0, 20.0, 40.0)
"""Levels (0-255 scale) of the fixed validation crops, white Gaussian, told the truth."""


def default_cache() -> Path:
    """Where generated volumes are kept between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fetal-denoise" / "synthetic"


@dataclass(frozen=True)
class PoolVolume:
    """A generated head, normalised as inference normalises an input, and its slicing axis."""

    image: np.ndarray
    thick_axis: int | None
    sha256: str


def _generate_cached(seed: int, index: int, cache: Path) -> tuple[Path, int | None, str]:
    """Generate volume (seed, index) into the cache unless it is there; (path, thick axis, sha256)."""
    folder = cache / GENERATOR_VERSION.replace("/", "-") / str(seed)
    path = folder / f"{index}.npy"
    meta = folder / f"{index}.json"
    if path.is_file() and meta.is_file():
        info = json.loads(meta.read_text())
        return path, info["thick_axis"], info["sha256"]
    folder.mkdir(parents=True, exist_ok=True)
    volume = generate(seed, index)
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.save(handle, volume.image)
    digest = volume.sha256()
    with atomic_path(meta) as tmp:
        tmp.write_text(json.dumps({"thick_axis": volume.thick_axis, "sha256": digest}))
    return path, volume.thick_axis, digest


def load_pool(seed: int, indices: list[int], cache: Path, workers: int = 1) -> list[PoolVolume]:
    """The volumes of `indices`, generated in `workers` processes where not cached, normalised."""
    if workers > 1:
        with ProcessPoolExecutor(workers) as executor:
            found = list(
                executor.map(_generate_cached, [seed] * len(indices), indices, [cache] * len(indices))
            )
    else:
        found = [_generate_cached(seed, index, cache) for index in indices]
    volumes = []
    for path, thick_axis, recorded in found:
        image = np.load(path)
        # The manifest lists what was trained on: the hash of the array itself, not the cache's word for it.
        digest = hashlib.sha256(np.ascontiguousarray(image, dtype=np.float32).tobytes()).hexdigest()
        if digest != recorded:
            raise InvalidVolumeError(
                f"{path}: the cached head does not match its recorded hash; delete the cache"
            )
        # The robust percentile mapping every input gets at inference (the prior's manifest records it).
        mapping = Normalisation().fit(image, "synthetic volume")
        volumes.append(PoolVolume(image=mapping.normalise(image), thick_axis=thick_axis, sha256=digest))
    return volumes


def pool_fingerprint(volumes: list[PoolVolume]) -> str:
    """sha256 over the generator version and every volume's digest: what a resumed training checks."""
    digest = hashlib.sha256(GENERATOR_VERSION.encode())
    for volume in volumes:
        digest.update(volume.sha256.encode())
    return digest.hexdigest()


def random_stack(volume: PoolVolume, context: int, crop: int, rng: np.random.Generator) -> np.ndarray:
    """A (2 context + 1, crop, crop) clean stack: slices along the thick axis of a thick-slice volume (the
    acquisition plane inference uses), along any axis of an isotropic one."""
    axis = volume.thick_axis if volume.thick_axis is not None else int(rng.integers(3))
    moved = np.moveaxis(volume.image, axis, 0)
    count, height, width = moved.shape
    for _ in range(10):  # prefer crops with some head in them: the background teaches little
        centre = int(rng.integers(context, count - context))
        y = int(rng.integers(0, height - crop + 1))
        x = int(rng.integers(0, width - crop + 1))
        stack = moved[centre - context : centre + context + 1, y : y + crop, x : x + crop]
        if float(np.mean(stack[context] > 0.05)) > 0.2:
            break
    return np.array(stack, dtype=np.float32)


def _augmented(stack: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random rotation by k x 90 degrees, flip of the crop, and reversal of the stack's order."""
    stack = np.rot90(stack, k=int(rng.integers(4)), axes=(-2, -1))
    if rng.random() < 0.5:
        stack = np.flip(stack, axis=-1)
    if rng.random() < 0.5:
        stack = stack[::-1]
    return np.ascontiguousarray(stack)


def training_batches(
    volumes: list[PoolVolume],
    *,
    context: int,
    crop: int,
    batch_size: int,
    steps: int,
    seed: int,
    epoch: int,
    told_share: float = TOLD_SHARE,
    told_spread: float = TOLD_SPREAD,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(noisy stacks, clean middle slices, told levels) of one epoch: a pure function of (seed, epoch);
    `told_share` of the crops are told their level times a log-normal factor of spread `told_spread`."""
    rng = np.random.default_rng([seed, 7, epoch])
    for _ in range(steps):
        inputs, targets, told = [], [], []
        for _ in range(batch_size):
            volume = volumes[int(rng.integers(len(volumes)))]
            clean = _augmented(random_stack(volume, context, crop, rng), rng)
            # Contrast and brightness jitter: inference's percentiles of a noisy input are not the clean's.
            clean = clean * float(rng.uniform(0.85, 1.15)) + float(rng.uniform(-0.03, 0.03))
            corruption = draw_corruption(rng, told_share, told_spread)
            inputs.append(corrupt(clean, corruption, rng))
            targets.append(clean[context : context + 1])
            told.append(corruption.told)
        yield np.stack(inputs), np.stack(targets), np.asarray(told, dtype=np.float32)


def validation_crops(
    volumes: list[PoolVolume], *, context: int, crop: int, per_level: int, seed: int
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Fixed validation crops per level: {sigma (0-255): (noisy stacks, clean middle slices)}."""
    rng = np.random.default_rng([seed, 11])
    out = {}
    for sigma in VALIDATION_SIGMAS:
        corruption = Corruption(sigma=sigma / 255.0, told=sigma / 255.0)
        inputs, targets = [], []
        for index in range(per_level):
            clean = random_stack(volumes[index % len(volumes)], context, crop, rng)
            inputs.append(corrupt(clean, corruption, rng))
            targets.append(clean[context : context + 1])
        out[sigma] = (np.stack(inputs), np.stack(targets))
    return out
