"""DICOM patient geometry (LPS) to and from the volume's voxel-to-world affine (RAS+)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.errors import InvalidVolumeError

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
_ORIENTATION_TOLERANCE = 1e-4


@dataclass(frozen=True)
class PlaneGeometry:
    """The in-plane geometry every slice of a series shares."""

    orientation: np.ndarray  # (6,) ImageOrientationPatient: row cosines then column cosines, LPS
    pixel_spacing: tuple[float, float]  # PixelSpacing: (between rows, between columns) in mm

    @property
    def normal(self) -> np.ndarray:
        """The slice normal, row cosine x column cosine (LPS)."""
        return np.cross(self.orientation[:3], self.orientation[3:])


def same_orientation(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two ImageOrientationPatient values agree within rounding of their decimal strings."""
    return bool(np.allclose(a, b, atol=_ORIENTATION_TOLERANCE))


def slice_order(positions: np.ndarray, plane: PlaneGeometry, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices that sort slices along the normal, and the slice step vector (LPS, mm).

    Positions are ImagePositionPatient values (n, 3). Slices must be distinct and evenly spaced: a
    missing slice or a repeated position would silently distort the volume.
    """
    distances = positions @ plane.normal
    order = np.argsort(distances, kind="stable")
    if len(order) < 2:
        return order, plane.normal.copy()
    gaps = np.diff(distances[order])
    step = float(np.median(gaps))
    if np.min(gaps) <= 1e-4:
        raise InvalidVolumeError(
            f"{name}: two or more slices share a position along the slice normal; "
            "the series mixes several volumes (echoes, time points) or repeats a slice"
        )
    if np.max(np.abs(gaps - step)) > max(1e-3, 0.01 * step):
        raise InvalidVolumeError(
            f"{name}: the slices are unevenly spaced (gaps from {gaps.min():.4g} to {gaps.max():.4g} mm); "
            "a slice may be missing"
        )
    first, last = positions[order[0]], positions[order[-1]]
    return order, (last - first) / (len(order) - 1)


def affine_from_dicom(plane: PlaneGeometry, first_position: np.ndarray, step: np.ndarray) -> np.ndarray:
    """The RAS+ affine mapping voxel (column, row, slice) to world mm."""
    row_spacing, column_spacing = plane.pixel_spacing
    lps = np.eye(4)
    lps[:3, 0] = plane.orientation[:3] * column_spacing
    lps[:3, 1] = plane.orientation[3:] * row_spacing
    lps[:3, 2] = step
    lps[:3, 3] = first_position
    return LPS_TO_RAS @ lps


def dicom_from_affine(affine: np.ndarray, slices: int) -> tuple[PlaneGeometry, np.ndarray, float]:
    """ImageOrientationPatient, PixelSpacing, one ImagePositionPatient per slice and the slice spacing.

    The inverse of `affine_from_dicom`; an affine with zero-length axes is refused.
    """
    lps = LPS_TO_RAS @ np.asarray(affine, dtype=np.float64)
    norms = np.linalg.norm(lps[:3, :3], axis=0)
    if np.any(norms <= 0):
        raise InvalidVolumeError(f"the affine has a zero-length axis (voxel sizes {norms.tolist()})")
    rows_dir, cols_dir = lps[:3, 0] / norms[0], lps[:3, 1] / norms[1]
    plane = PlaneGeometry(
        orientation=np.concatenate([rows_dir, cols_dir]),
        pixel_spacing=(float(norms[1]), float(norms[0])),
    )
    positions = np.array([lps[:3, 3] + k * lps[:3, 2] for k in range(slices)])
    return plane, positions, float(norms[2])
