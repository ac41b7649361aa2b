"""The arrays an estimate reads, checked once: 2D or 3D, finite, aligned, and an optional voxel mask."""

from __future__ import annotations

import numpy as np

from shared.errors import InvalidVolumeError, ShapeMismatchError
from shared.volume import check_voxels


def as_volume(data: np.ndarray, name: str) -> np.ndarray:
    """`data` as a float64 (Z, Y, X) array; a 2D image becomes one slice. Refuses empty or NaN/Inf data."""
    array = np.asarray(data)
    if array.ndim not in (2, 3):
        raise InvalidVolumeError(f"{name}: expected a 2D image or a 3D volume, got shape {array.shape}")
    check_voxels(array, name)
    array = array.astype(np.float64, copy=False)
    return array[np.newaxis] if array.ndim == 2 else array


def same_shape(first: np.ndarray, second: np.ndarray, first_name: str, second_name: str) -> None:
    """Refuse two arrays that must be voxel-aligned but differ in shape."""
    if first.shape != second.shape:
        raise ShapeMismatchError(
            f"{first_name} has shape {first.shape} but {second_name} has shape {second.shape}; "
            "they must match"
        )


def as_region(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean mask of `shape` (2D masks become one slice); None selects every voxel."""
    if mask is None:
        return np.ones(shape, dtype=bool)
    region = np.asarray(mask, dtype=bool)
    if region.ndim == 2:
        region = region[np.newaxis]
    if region.shape != shape:
        raise ShapeMismatchError(f"the mask has shape {region.shape} but the volume has shape {shape}")
    if not region.any():
        raise InvalidVolumeError("the mask selects no voxel; an estimate needs at least one")
    return region
