"""The one in-memory volume type that crosses every boundary of the project."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from shared.errors import EmptyVolumeError, InvalidVolumeError, NonFiniteVoxelsError, ShapeMismatchError


@dataclass(frozen=True)
class SourceMetadata:
    """What a writer needs to put a volume back in the format it came from.

    Readers subclass this with their own payload (a NIfTI header, the DICOM datasets of a series);
    `format` is the registry key of the reader that produced it. `warnings` are plain sentences about
    what the reader had to assume (e.g. a DICOM file without geometry read with identity orientation and
    1 mm pixels), for the CLI to show and the job to record; the volume is still usable.
    """

    format: str
    warnings: tuple[str, ...] = field(default=(), kw_only=True)


@dataclass(frozen=True, eq=False)
class Volume:
    """A float32 array with axes (Z, Y, X), or (T, Z, Y, X) for a series of volumes, its geometry, and its
    source format's metadata.

    `affine` is a 4x4 matrix mapping a voxel index (x, y, z, 1) - note: the reverse of the array's axis
    order, as in NIfTI - to world coordinates in millimetres, RAS+ (DICOM's LPS is converted on read).
    A series (a 4D NIfTI, a DICOM series of several volumes: DWI, fMRI, repetitions) shares one geometry;
    the methods denoise it frame by frame (`frames`, `with_frames`).
    """

    data: np.ndarray
    affine: np.ndarray = field(default_factory=lambda: np.eye(4))
    source: SourceMetadata | None = None

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.ndim not in (3, 4):
            raise ValueError(f"Volume data must be 3D (Z, Y, X) or 4D (T, Z, Y, X), got shape {data.shape}")
        if data.dtype != np.float32:
            data = data.astype(np.float32)
        object.__setattr__(self, "data", data)
        affine = np.asarray(self.affine, dtype=np.float64)
        if affine.shape != (4, 4):
            raise ValueError(f"affine must be 4x4, got shape {affine.shape}")
        object.__setattr__(self, "affine", affine)

    @property
    def shape(self) -> tuple[int, ...]:
        """Array shape: (Z, Y, X), or (T, Z, Y, X) for a series."""
        return tuple(int(n) for n in self.data.shape)

    @property
    def is_series(self) -> bool:
        """Whether this is a series of volumes (4D) rather than one volume."""
        return self.data.ndim == 4

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """(Z, Y, X) of one volume of the series (of the volume itself, when it is not a series)."""
        z, y, x = self.data.shape[-3:]
        return (int(z), int(y), int(x))

    def frames(self) -> list[Volume]:
        """The volumes of a series, in order, each 3D with the series' geometry (a 3D volume: itself)."""
        if not self.is_series:
            return [self]
        return [Volume(data=frame, affine=self.affine) for frame in self.data]

    def with_frames(self, frames: Sequence[np.ndarray]) -> Volume:
        """This volume (or series) with new voxel values given frame by frame, geometry and source kept."""
        if self.is_series:
            return self.with_data(np.stack([np.asarray(f) for f in frames]))
        (only,) = frames
        return self.with_data(only)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm in array axis order (Z, Y, X), from the affine's column norms."""
        sx, sy, sz = (float(v) for v in np.linalg.norm(self.affine[:3, :3], axis=0))
        return (sz, sy, sx)

    @property
    def source_format(self) -> str | None:
        """Registry key of the format the volume was read from, if any."""
        return self.source.format if self.source is not None else None

    def with_data(self, data: np.ndarray) -> Volume:
        """The same geometry and source metadata around new voxel values of the same shape."""
        data = np.asarray(data)
        if data.shape != self.data.shape:
            raise ShapeMismatchError(
                f"new data has shape {data.shape}, the volume has shape {self.data.shape}"
            )
        return replace(self, data=data.astype(np.float32, copy=False))

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary: shape, spacing, format, value range."""
        return {
            "shape": list(self.shape),
            "frames": len(self.data) if self.is_series else 1,
            "spacing_mm": [round(s, 6) for s in self.spacing],
            "format": self.source_format,
            "min": float(self.data.min()),
            "max": float(self.data.max()),
        }


def check_voxels(data: np.ndarray, name: str) -> None:
    """Refuse arrays no method can denoise: no voxels, or NaN / Inf voxels."""
    if data.size == 0:
        raise EmptyVolumeError(f"{name}: the volume has no voxels (shape {tuple(data.shape)})")
    finite = np.isfinite(data)
    if not finite.all():
        bad = int(data.size - np.count_nonzero(finite))
        raise NonFiniteVoxelsError(f"{name}: {bad} voxel(s) are NaN or infinite")


def require_single(volume: Volume, name: str) -> Volume:
    """`volume` if it is one 3D volume; a series here is a clear error naming what to do instead."""
    if volume.is_series:
        raise InvalidVolumeError(
            f"{name}: a series of {volume.shape[0]} volumes (shape {volume.shape}) where one volume is needed"
        )
    return volume


def check_same_shape(a: Volume, b: Volume, what_a: str, what_b: str) -> None:
    """Refuse two volumes that must be voxel-aligned but differ in shape."""
    if a.shape != b.shape:
        raise ShapeMismatchError(
            f"{what_a} has shape {a.shape} but {what_b} has shape {b.shape}; they must match"
        )
