"""NumPy .npy reading and writing; never unpickles (allow_pickle=False, object dtypes refused first)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.atomic import atomic_path
from shared.errors import InvalidVolumeError, UnreadableVolumeError
from shared.io.formats import NPY
from shared.io.limits import ReadLimits, check_voxel_count, library_detail
from shared.volume import SourceMetadata, Volume, check_voxels

_NUMERIC_KINDS = "biuf"


@dataclass(frozen=True)
class NumpySource(SourceMetadata):
    """The array's original number of dimensions (2 for a single slice)."""

    ndim: int


def _read_header(path: Path, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the .npy header, without reading the data."""
    with path.open("rb") as handle:
        try:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
        except (ValueError, EOFError, OSError) as exc:
            raise UnreadableVolumeError(
                f"{name}: not a valid .npy file ({library_detail(exc, path, name)})"
            ) from exc
    return tuple(int(n) for n in shape), np.dtype(dtype)


def read_npy(path: Path, limits: ReadLimits, name: str) -> Volume:
    """Read a 2D (Y, X) or 3D (Z, Y, X) numeric array as a volume with an identity affine."""
    shape, dtype = _read_header(path, name)
    if dtype.hasobject or dtype.kind not in _NUMERIC_KINDS:
        raise UnreadableVolumeError(
            f"{name}: holds dtype {dtype}, not numbers; only numeric arrays are read (never pickles)"
        )
    if len(shape) not in (2, 3):
        raise InvalidVolumeError(
            f"{name}: a {len(shape)}D array (shape {shape}); expected 2D (Y, X) or 3D (Z, Y, X)"
        )
    check_voxel_count(shape, limits, name)
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise UnreadableVolumeError(
            f"{name}: not a valid .npy file ({library_detail(exc, path, name)})"
        ) from exc
    data = np.asarray(array, dtype=np.float32).reshape((1, *shape) if len(shape) == 2 else shape)
    check_voxels(data, name)
    return Volume(data=data, source=NumpySource(format=NPY, ndim=len(shape)))


def write_npy(volume: Volume, path: Path) -> Path:
    """Write the float32 (Z, Y, X) array; a 2D source comes back 2D."""
    data = volume.data
    if isinstance(volume.source, NumpySource) and volume.source.ndim == 2 and data.shape[0] == 1:
        data = data[0]
    with atomic_path(path) as tmp:
        np.save(tmp, data, allow_pickle=False)
    return path
