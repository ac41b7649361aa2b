"""Read one multi-frame DICOM file (enhanced or legacy) as a volume, one frame per slice."""

from __future__ import annotations

import numpy as np

from shared.io.dicom_geometry import PlaneGeometry, affine_from_dicom, slice_order
from shared.io.dicom_headers import DicomHeader, dropped_warning, functional_value, rescale
from shared.io.dicom_pixels import decode_frames
from shared.io.dicom_slices import DEFAULT_ORIENTATION, NO_GAP, NO_ORIENTATION, NO_POSITION, NO_SPACING
from shared.io.dicom_source import DicomSource
from shared.io.dicom_values import library_errors, numbers
from shared.io.limits import ReadLimits, check_voxel_count
from shared.volume import Volume, check_voxels


def _frame_positions(header: DicomHeader) -> np.ndarray | None:
    """Every frame's ImagePositionPatient from the per-frame groups; None unless all are present."""
    positions = []
    for frame in range(header.frames):
        value = functional_value(
            header.dataset, "PlanePositionSequence", "ImagePositionPatient", frame, per_frame_only=True
        )
        position = numbers(value, "ImagePositionPatient", 3, header.label)
        if position is None:
            return None
        positions.append(position)
    return np.array(positions)


def read_multiframe(header: DicomHeader, fmt: str, limits: ReadLimits, name: str) -> Volume:
    """Frames ordered along the normal when each has a position; else in file order, evenly spaced.

    Files without per-frame geometry (e.g. pydicom's emri_small.dcm) still read: the orientation,
    spacing and first position come from whatever the header holds, defaulting to identity and 1 mm,
    with a warning on the volume's source for each default taken.
    """
    check_voxel_count((header.frames, header.rows, header.columns), limits, name)
    warnings: list[str] = dropped_warning([header])
    orientation = header.orientation if header.orientation is not None else DEFAULT_ORIENTATION
    if header.orientation is None:
        warnings.append(NO_ORIENTATION)
    if header.pixel_spacing is None:
        warnings.append(NO_SPACING)
    plane = PlaneGeometry(orientation=orientation, pixel_spacing=header.pixel_spacing or (1.0, 1.0))
    with library_errors(header.label):
        positions = _frame_positions(header)
    if positions is not None and header.frames > 1:
        order, step = slice_order(positions, plane, name)
        first = positions[order[0]]
    else:
        if header.frames > 1 and header.slice_gap is None:
            warnings.append(NO_GAP)
        if header.position is None:
            warnings.append(NO_POSITION)
        order, step = np.arange(header.frames), plane.normal * (header.slice_gap or 1.0)
        first = header.position if header.position is not None else np.zeros(3)
    frames = decode_frames(header)
    data = np.empty((header.frames, header.rows, header.columns), dtype=np.float32)
    scales = []
    with library_errors(header.label):
        for k, frame in enumerate(order):
            slope, intercept = rescale(header.dataset, int(frame), header.label)
            data[k] = frames[frame] * slope + intercept
            scales.append((slope, intercept))
    check_voxels(data, name)
    source = DicomSource(
        format=fmt,
        datasets=(header.dataset,),
        frame_order=tuple(int(f) for f in order),
        rescale=tuple(scales),
        warnings=tuple(warnings),
    )
    return Volume(data=data, affine=affine_from_dicom(plane, first, step), source=source)
