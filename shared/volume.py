"""The one in-memory volume type that crosses every boundary of the project."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from shared.errors import EmptyVolumeError, NonFiniteVoxelsError, ShapeMismatchError


@dataclass(frozen=True)
class SourceMetadata:
    """What a writer needs to put a volume back in the format it came from.

    Readers subclass this with their own payload (a NIfTI header, the DICOM datasets of a series);
    `format` is the registry key of the reader that produced it.
    """

    format: str


@dataclass(frozen=True, eq=False)
class Volume:
    """A float32 array with axes (Z, Y, X), its geometry, and its source format's metadata.

    `affine` is a 4x4 matrix mapping a voxel index (x, y, z, 1) - note: the reverse of the array's axis
    order, as in NIfTI - to world coordinates in millimetres, RAS+ (DICOM's LPS is converted on read).
    """

    data: np.ndarray
    affine: np.ndarray = field(default_factory=lambda: np.eye(4))
    source: SourceMetadata | None = None

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.ndim != 3:
            raise ValueError(f"Volume data must be 3D (Z, Y, X), got shape {data.shape}")
        if data.dtype != np.float32:
            data = data.astype(np.float32)
        object.__setattr__(self, "data", data)
        affine = np.asarray(self.affine, dtype=np.float64)
        if affine.shape != (4, 4):
            raise ValueError(f"affine must be 4x4, got shape {affine.shape}")
        object.__setattr__(self, "affine", affine)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape (Z, Y, X)."""
        z, y, x = self.data.shape
        return (z, y, x)

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


def check_same_shape(a: Volume, b: Volume, what_a: str, what_b: str) -> None:
    """Refuse two volumes that must be voxel-aligned but differ in shape."""
    if a.shape != b.shape:
        raise ShapeMismatchError(
            f"{what_a} has shape {a.shape} but {what_b} has shape {b.shape}; they must match"
        )
