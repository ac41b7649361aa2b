"""Read a series of single-frame DICOM files: one volume, or several volumes at the same positions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from shared.errors import InvalidVolumeError
from shared.io.dicom_geometry import PlaneGeometry, affine_from_dicom, same_orientation, slice_order
from shared.io.dicom_headers import DicomHeader, dropped_warning, rescale
from shared.io.dicom_pixels import decode_frames
from shared.io.dicom_source import DicomSource
from shared.io.dicom_values import library_errors
from shared.io.limits import ReadLimits, check_voxel_count
from shared.volume import Volume, check_voxels

DEFAULT_ORIENTATION = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
NO_ORIENTATION = (
    "The DICOM images have no ImageOrientationPatient: they were read as axial slices (identity orientation), "
    "which may not be their true orientation."
)
NO_SPACING = "The DICOM images have no PixelSpacing: their pixels were read as 1 x 1 mm."
NO_POSITION = "The DICOM image has no ImagePositionPatient: the volume was placed at the scanner's origin."
NO_GAP = "The DICOM image states no slice spacing (SpacingBetweenSlices or SliceThickness): 1 mm was used."

# The attributes that tell the volumes of a series apart, in the order they are trusted.
_VOLUME_KEYS: tuple[tuple[str, Callable[[DicomHeader], int | None]], ...] = (
    ("TemporalPositionIdentifier", lambda h: h.temporal_position),
    ("AcquisitionNumber", lambda h: h.acquisition_number),
)
_SAME_POSITION_MM = 1e-4


def plane_of(series: list[DicomHeader], name: str, warnings: list[str]) -> PlaneGeometry:
    """The in-plane geometry every slice shares; refuses slices that disagree.

    A series whose images all lack ImageOrientationPatient or PixelSpacing still reads, with identity
    orientation or 1 mm pixels and a warning saying so; some images with and some without is refused.
    """
    sizes = sorted({(h.rows, h.columns) for h in series})
    if len(sizes) > 1:
        listed = ", ".join(f"{r}x{c}" for r, c in sizes)
        raise InvalidVolumeError(f"{name}: the slices have different sizes (rows x columns): {listed}")
    with_orientation = [h.orientation for h in series if h.orientation is not None]
    if 0 < len(with_orientation) < len(series):
        raise InvalidVolumeError(f"{name}: the slices have different ImageOrientationPatient values")
    with_spacing = [h.pixel_spacing for h in series if h.pixel_spacing is not None]
    if 0 < len(with_spacing) < len(series):
        raise InvalidVolumeError(f"{name}: the slices have different PixelSpacing values")
    orientation = with_orientation[0] if with_orientation else DEFAULT_ORIENTATION
    spacing = with_spacing[0] if with_spacing else (1.0, 1.0)
    if not with_orientation:
        warnings.append(NO_ORIENTATION)
    if not with_spacing:
        warnings.append(NO_SPACING)
    if any(not same_orientation(o, orientation) for o in with_orientation):
        raise InvalidVolumeError(f"{name}: the slices have different ImageOrientationPatient values")
    if any(not np.allclose(s, spacing, atol=1e-4) for s in with_spacing):
        raise InvalidVolumeError(f"{name}: the slices have different PixelSpacing values")
    return PlaneGeometry(orientation=orientation, pixel_spacing=spacing)


def _split_volumes(series: list[DicomHeader], plane: PlaneGeometry, name: str) -> list[list[DicomHeader]]:
    """The series as volumes: itself when every slice has its own position, else grouped by volume key.

    Several slices at one position are several volumes (time points, repetitions, diffusion directions)
    when TemporalPositionIdentifier, else AcquisitionNumber, splits the series into groups that each hold
    every position once; anything else is refused rather than guessed.
    """
    distances = np.sort(np.array([h.position for h in series]) @ plane.normal)
    positions = 1 + int(np.count_nonzero(np.diff(distances) > _SAME_POSITION_MM))
    if positions == len(series):
        return [series]
    for keyword, key in _VOLUME_KEYS:
        values = [key(h) for h in series]
        if any(v is None for v in values) or len(set(values)) < 2:
            continue
        groups = [[h for h in series if key(h) == v] for v in sorted({v for v in values if v is not None})]
        sizes = sorted({len(g) for g in groups})
        if sizes != [positions]:
            raise InvalidVolumeError(
                f"{name}: the series holds {len(series)} slices at {positions} positions, but its {keyword} "
                f"values split it into {len(groups)} groups of {', '.join(map(str, sizes))} slices, not into "
                f"volumes of {positions} slices each"
            )
        return groups
    raise InvalidVolumeError(
        f"{name}: two or more slices share a position along the slice normal; "
        "the series mixes several volumes (echoes, time points) or repeats a slice"
    )


def _ordered(
    volume: list[DicomHeader], plane: PlaneGeometry, name: str
) -> tuple[list[DicomHeader], np.ndarray]:
    """One volume's slices in order along the normal, and its affine."""
    positions = np.array([h.position for h in volume])
    order, step = slice_order(positions, plane, name)
    return [volume[i] for i in order], affine_from_dicom(plane, positions[order[0]], step)


def read_single_frames(series: list[DicomHeader], fmt: str, limits: ReadLimits, name: str) -> Volume:
    """Order single-frame slices along their normal (never by InstanceNumber), decode and rescale.

    A series of several volumes at the same positions reads as a (T, Z, Y, X) series, volumes ordered by
    the attribute that told them apart.
    """
    check_voxel_count((len(series), series[0].rows, series[0].columns), limits, name)
    warnings: list[str] = dropped_warning(series)
    plane = plane_of(series, name, warnings)
    if len(series) == 1:
        header = series[0]
        if header.slice_gap is None:
            warnings.append(NO_GAP)
        if header.position is None:
            warnings.append(NO_POSITION)
        first = header.position if header.position is not None else np.zeros(3)
        volumes = [series]
        affine = affine_from_dicom(plane, first, plane.normal * (header.slice_gap or 1.0))
    else:
        if any(h.position is None for h in series):
            raise InvalidVolumeError(
                f"{name}: some slices have no ImagePositionPatient, so the series cannot be ordered"
            )
        ordered = [_ordered(v, plane, name) for v in _split_volumes(series, plane, name)]
        volumes = [v for v, _ in ordered]
        affine = ordered[0][1]
        for _, other in ordered[1:]:
            if not np.allclose(other, affine, atol=1e-3):
                raise InvalidVolumeError(f"{name}: the volumes of the series do not share one geometry")
    shape = (len(volumes), len(volumes[0]), series[0].rows, series[0].columns)
    data = np.empty(shape, dtype=np.float32)
    scales = []
    for t, volume in enumerate(volumes):
        for k, header in enumerate(volume):
            frames = decode_frames(header)
            with library_errors(header.label):
                slope, intercept = rescale(header.dataset, None, header.label)
            data[t, k] = frames[0] * slope + intercept
            scales.append((slope, intercept))
    if len(volumes) == 1:
        data = data[0]
    check_voxels(data, name)
    source = DicomSource(
        format=fmt,
        datasets=tuple(h.dataset for volume in volumes for h in volume),
        frame_order=(),
        rescale=tuple(scales),
        warnings=tuple(warnings),
    )
    return Volume(data=data, affine=affine, source=source)
