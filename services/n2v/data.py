"""Training and validation patches for N2V, cut from normalised volumes (numpy only, no TensorFlow).

2D: slices across the config's plane, split train / val / test by `shared.slices.split_slices` (by volume
with 3+ volumes, else by contiguous slice blocks), each slice cut into square tiles that cover it (the
last tile of a row sits flush with the edge); with too few slices to hold whole ones out (a single 2D
image), a seeded tenth of the tiles is held out instead. 3D: each volume cut into a disjoint grid of cubes, of
which a seeded tenth (at least one) is held out for validation. Each volume is normalised to [0, 1]
with its own IntensityMapping, fitted on the noisy volume; a clean volume (the paper's protocol) is only
ever used for the validation metrics.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from shared.errors import ConfigError, InvalidVolumeError
from shared.foreground import foreground_level, holds_anatomy
from shared.intensity import IntensityMapping, Normalisation
from shared.methods.checks import patch_too_large
from shared.methods.n2v import N2VConfig
from shared.metrics import psnr_from_mse
from shared.slices import foreground_slices, plane_of_axis, slice_axis, split_slices
from shared.volume import Volume, check_same_shape, check_voxels, require_single

VAL_FRACTION_3D = 0.1
"""Share of tiles held out for validation when whole slices cannot be (3D patches, a single 2D image)."""


@dataclass(frozen=True)
class TrainingData:
    """Patches (channel last) on each noisy volume's [0, 1] scale, plus what validation metrics need."""

    train: np.ndarray
    val: np.ndarray
    val_clean: np.ndarray | None
    """Clean validation tiles on the same scale as `val` (their noisy volume's mapping)."""
    val_weight: np.ndarray | None
    """Per validation tile: noisy range / clean range, so errors are measured on the clean's [0, 1]."""
    summary: dict[str, Any]

    def fingerprint(self) -> str:
        """sha256 of the patches, so a resumed training can tell it is given the same data."""
        digest = hashlib.sha256()
        for array in (self.train, self.val):
            digest.update(str(array.shape).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def patch_grid_starts(length: int, size: int, cover: bool) -> list[int]:
    """Start offsets of training patches of `size` along `length`: covering it (last one flush) or a disjoint grid."""
    starts = list(range(0, length - size + 1, size))
    if cover and starts and starts[-1] + size < length:
        starts.append(length - size)
    return starts


def cut_tiles(image: np.ndarray, size: int, cover: bool) -> np.ndarray:
    """All tiles of side `size` of a 2D or 3D image, stacked as (N, size, ...)."""
    grids = [patch_grid_starts(n, size, cover) for n in image.shape]
    tiles = [image[tuple(slice(s, s + size) for s in origin)] for origin in itertools.product(*grids)]
    return np.stack(tiles).astype(np.float32, copy=False)


def _check_volumes(noisy: list[Volume], clean: list[Volume] | None) -> None:
    """Refuse empty inputs, bad voxels, and clean volumes that do not pair with the noisy ones."""
    if not noisy:
        raise InvalidVolumeError("no training volumes given")
    for i, volume in enumerate(noisy):
        check_voxels(volume.data, f"noisy volume {i}")
    if clean is None:
        return
    if len(clean) != len(noisy):
        raise InvalidVolumeError(
            f"{len(clean)} clean volume(s) given for {len(noisy)} noisy volume(s); they must pair up"
        )
    for i, (n, c) in enumerate(zip(noisy, clean, strict=True)):
        check_voxels(c.data, f"clean volume {i}")
        check_same_shape(n, c, f"noisy volume {i}", f"clean volume {i}")


def prepare(config: N2VConfig, noisy: list[Volume], clean: list[Volume] | None = None) -> TrainingData:
    """Normalise, slice or tile, and split the volumes into N2V training and validation patches."""
    _check_volumes(noisy, clean)
    noisy = [require_single(volume, f"noisy volume {i}") for i, volume in enumerate(noisy)]
    normalisation = Normalisation()
    maps = [normalisation.fit(v.data, name=f"noisy volume {i}") for i, v in enumerate(noisy)]
    norm = [m.normalise(v.data) for m, v in zip(maps, noisy, strict=True)]
    clean_norm: list[np.ndarray] | None = None
    weights: list[float] = []
    if clean is not None:
        clean_maps = [IntensityMapping.min_max(c.data, name=f"clean volume {i}") for i, c in enumerate(clean)]
        clean_norm = [m.normalise(c.data) for m, c in zip(maps, clean, strict=True)]
        weights = [m.scale / cm.scale for m, cm in zip(maps, clean_maps, strict=True)]
    summary: dict[str, Any] = {
        "dims": config.dims,
        "volumes": [v.describe() for v in noisy],
        "intensity": [m.model_dump() for m in maps],
        "normalisation": normalisation.model_dump(),
        "clean_for_validation": clean is not None,
        "patch_shape": list(config.patch_shape()),
    }
    if config.dims == 2:
        parts = _prepare_2d(config, noisy, norm, clean_norm, weights, summary)
    else:
        parts = _prepare_3d(config, norm, clean_norm, weights, summary)
    train, val, val_clean, val_weight = parts
    summary["n_train_patches"] = len(train)
    summary["n_val_patches"] = len(val)
    return TrainingData(train[..., None], val[..., None], val_clean, val_weight, summary)


Parts = tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]


def _prepare_2d(
    config: N2VConfig,
    noisy: list[Volume],
    norm: list[np.ndarray],
    clean_norm: list[np.ndarray] | None,
    weights: list[float],
    summary: dict[str, Any],
) -> Parts:
    """Slices across the plane, split by volume or slice block, cut into covering tiles."""
    axes = [slice_axis(v, config.plane) for v in noisy]
    kept: list[list[int]] = []
    for i, (data, axis) in enumerate(zip(norm, axes, strict=True)):
        in_plane = tuple(n for a, n in enumerate(data.shape) if a != axis)
        if min(in_plane) < config.patch_size:
            single = f"noisy volume {i}" if data.shape[axis] == 1 else None  # one 2D image: no plane helps
            raise patch_too_large(config, in_plane, f"{config.plane} slices of noisy volume {i}", single)
        every = list(range(data.shape[axis]))  # a single 2D image is always kept, however dark
        indices = foreground_slices(data, axis) if config.drop_empty and len(every) >= 3 else every
        if not indices:
            raise InvalidVolumeError(f"noisy volume {i}: no slice across axis {axis} holds anatomy")
        kept.append(indices)
    if len(noisy) < 3 and min(len(indices) for indices in kept) < 3:
        return _prepare_2d_by_tiles(config, noisy, norm, clean_norm, weights, summary, axes, kept)
    split = split_slices(kept, axes[0], seed=config.seed)
    summary.update(
        plane=config.plane,
        slice_axes=axes,
        anatomical_planes=[plane_of_axis(v.affine, a) for v, a in zip(noisy, axes, strict=True)],
        split=split.model_dump(mode="json"),
    )

    def tiles_of(refs: list[tuple[int, int]], source: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
        """The tiles of the referenced slices, and how many each slice gave."""
        parts = [
            cut_tiles(np.take(source[v], s, axis=axes[v]), config.patch_size, cover=True) for v, s in refs
        ]
        if not parts:
            raise InvalidVolumeError(f"no {config.plane} slices with anatomy left for training or validation")
        return np.concatenate(parts), [len(p) for p in parts]

    train, _ = tiles_of(split.train, norm)
    val, counts = tiles_of(split.val, norm)
    if clean_norm is None:
        return train, val, None, None
    val_clean, _ = tiles_of(split.val, clean_norm)
    return train, val, val_clean[..., None], np.repeat([weights[v] for v, _ in split.val], counts)


def _prepare_2d_by_tiles(
    config: N2VConfig,
    noisy: list[Volume],
    norm: list[np.ndarray],
    clean_norm: list[np.ndarray] | None,
    weights: list[float],
    summary: dict[str, Any],
    axes: list[int],
    kept: list[list[int]],
) -> Parts:
    """Too few slices to hold whole slices out (a single 2D image, a stack of two): every slice is cut into
    covering tiles and a seeded tenth of the tiles (at least one) is held out for validation."""
    refs = [(v, s) for v, indices in enumerate(kept) for s in indices]

    def tiles(source: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
        parts = [
            cut_tiles(np.take(source[v], s, axis=axes[v]), config.patch_size, cover=True) for v, s in refs
        ]
        return np.concatenate(parts), [v for (v, _), part in zip(refs, parts, strict=True) for _ in part]

    every, owners = tiles(norm)
    if len(every) < 2:
        side = "x".join(str(n) for n in every.shape[1:])
        raise ConfigError(
            f"a {side} image gives one patch of {config.patch_size}x{config.patch_size}, and one is held out "
            f"for validation; choose patch_size <= {config.patch_size // 2} so there are several"
        )
    order = np.random.default_rng(config.seed).permutation(len(every))
    n_val = max(1, round(len(every) * VAL_FRACTION_3D))
    val_ids, train_ids = np.sort(order[:n_val]), np.sort(order[n_val:])
    summary.update(
        plane=config.plane,
        slice_axes=axes,
        anatomical_planes=[plane_of_axis(v.affine, a) for v, a in zip(noisy, axes, strict=True)],
        split={"mode": "by_tile", "slices": [list(r) for r in refs], "val_tiles": val_ids.tolist()},
    )
    if clean_norm is None:
        return every[train_ids], every[val_ids], None, None
    clean_tiles, _ = tiles(clean_norm)
    val_weight = np.array([weights[owners[i]] for i in val_ids])
    return every[train_ids], every[val_ids], clean_tiles[val_ids][..., None], val_weight


def _prepare_3d(
    config: N2VConfig,
    norm: list[np.ndarray],
    clean_norm: list[np.ndarray] | None,
    weights: list[float],
    summary: dict[str, Any],
) -> Parts:
    """A disjoint grid of cubes per volume, a seeded tenth of them held out for validation."""
    refs: list[tuple[int, tuple[int, ...]]] = []
    for i, data in enumerate(norm):
        if min(data.shape) < config.patch_size:
            raise patch_too_large(config, data.shape, f"noisy volume {i}")
        grids = [patch_grid_starts(n, config.patch_size, cover=False) for n in data.shape]
        refs += [(i, origin) for origin in itertools.product(*grids)]

    def cube(source: list[np.ndarray], ref: tuple[int, tuple[int, ...]]) -> np.ndarray:
        v, origin = ref
        return source[v][tuple(slice(o, o + config.patch_size) for o in origin)]

    if config.drop_empty:
        levels = [foreground_level(volume) for volume in norm]
        full = [r for r in refs if holds_anatomy(cube(norm, r), levels[r[0]])]
        refs = full if len(full) >= 2 else refs
    if len(refs) < 2:
        raise ConfigError(
            f"only {len(refs)} patch of {config.patch_size}^3 fits the volumes; at least 2 are needed "
            "(one held out for validation): choose a smaller patch_size"
        )
    order = np.random.default_rng(config.seed).permutation(len(refs))
    n_val = max(1, round(len(refs) * VAL_FRACTION_3D))
    val_refs = [refs[i] for i in sorted(order[:n_val])]
    train_refs = [refs[i] for i in sorted(order[n_val:])]
    summary["tiles"] = {
        "train": [[v, list(o)] for v, o in train_refs],
        "val": [[v, list(o)] for v, o in val_refs],
    }
    train = np.stack([cube(norm, r) for r in train_refs])
    val = np.stack([cube(norm, r) for r in val_refs])
    if clean_norm is None:
        return train, val, None, None
    val_clean = np.stack([cube(clean_norm, r) for r in val_refs])[..., None]
    return train, val, val_clean, np.array([weights[v] for v, _ in val_refs])


def clean_metrics(prediction: np.ndarray, data: TrainingData) -> tuple[float, float]:
    """PSNR (dB) and RMSE of validation-tile predictions against the clean tiles.

    On the clean volume's own [0, 1] scale (MAX = 1), with the squared error pooled over all validation
    tiles (one figure for the whole validation set, not a mean of per-tile values).
    """
    if data.val_clean is None or data.val_weight is None:
        raise ValueError("validation metrics need clean volumes")
    weight = data.val_weight.reshape((-1,) + (1,) * (prediction.ndim - 1))
    mse = float(np.mean(((prediction - data.val_clean) * weight).astype(np.float64) ** 2))
    return psnr_from_mse(mse), math.sqrt(mse)
