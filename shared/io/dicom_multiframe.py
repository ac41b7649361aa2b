"""Read one multi-frame DICOM file (enhanced or legacy) as a volume, one frame per slice."""

from __future__ import annotations

import numpy as np

from shared.errors import UnreadableVolumeError
from shared.io.dicom_geometry import PlaneGeometry, affine_from_dicom, slice_order
from shared.io.dicom_headers import DicomHeader, functional_value, read_full, rescale
from shared.io.dicom_pixels import decode_frames
from shared.io.dicom_source import DicomSource
from shared.io.limits import ReadLimits, check_voxel_count
from shared.volume import Volume, check_voxels


def _frame_positions(header: DicomHeader) -> np.ndarray | None:
    """Every frame's ImagePositionPatient from the per-frame groups; None unless all are present."""
    positions = []
    for frame in range(header.frames):
        value = functional_value(
            header.dataset, "PlanePositionSequence", "ImagePositionPatient", frame, per_frame_only=True
        )
        if value is None or len(value) != 3:
            return None
        positions.append([float(v) for v in value])
    return np.array(positions)


def _slice_gap(header: DicomHeader) -> float:
    """The slice spacing the header states, or 1 mm when it states none."""
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        value = functional_value(header.dataset, "PixelMeasuresSequence", keyword, 0)
        if value is not None and float(value) > 0:
            return float(value)
    return 1.0


def read_multiframe(header: DicomHeader, fmt: str, limits: ReadLimits, name: str) -> Volume:
    """Frames ordered along the normal when each has a position; else in file order, evenly spaced.

    Files without per-frame geometry (e.g. pydicom's emri_small.dcm) still read: the orientation,
    spacing and first position come from whatever the header holds, defaulting to identity and 1 mm.
    """
    check_voxel_count((header.frames, header.rows, header.columns), limits, name)
    orientation = header.orientation if header.orientation is not None else np.array([1.0, 0, 0, 0, 1, 0])
    plane = PlaneGeometry(orientation=orientation, pixel_spacing=header.pixel_spacing or (1.0, 1.0))
    positions = _frame_positions(header)
    if positions is not None and header.frames > 1:
        order, step = slice_order(positions, plane, name)
        first = positions[order[0]]
    else:
        order, step = np.arange(header.frames), plane.normal * _slice_gap(header)
        first = header.position if header.position is not None else np.zeros(3)
    frames = decode_frames(read_full(header), header.label)
    if frames.shape != (header.frames, header.rows, header.columns):
        raise UnreadableVolumeError(
            f"{header.label}: decoded {frames.shape[0]} frames of {frames.shape[1]}x{frames.shape[2]}, "
            f"the header announces {header.frames} of {header.rows}x{header.columns}"
        )
    data = np.empty((header.frames, header.rows, header.columns), dtype=np.float32)
    scales = []
    for k, frame in enumerate(order):
        slope, intercept = rescale(header.dataset, int(frame))
        data[k] = frames[frame] * slope + intercept
        scales.append((slope, intercept))
    check_voxels(data, name)
    source = DicomSource(
        format=fmt,
        datasets=(header.dataset,),
        frame_order=tuple(int(f) for f in order),
        rescale=tuple(scales),
    )
    return Volume(data=data, affine=affine_from_dicom(plane, first, step), source=source)
