"""Parse what the reader needs from a DICOM file's header, before any pixel data is read."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.misc import is_dicom

from shared.errors import UnreadableVolumeError
from shared.io.limits import library_detail

PYDICOM_ERRORS = (InvalidDicomError, ValueError, KeyError, TypeError, EOFError, OSError, struct.error)


@dataclass(frozen=True, eq=False)
class DicomHeader:
    """One DICOM image file's header (no pixel data) and the values the reader uses from it."""

    label: str  # how error messages name this file
    path: Path
    dataset: Dataset
    series_uid: str
    series_description: str
    rows: int
    columns: int
    frames: int
    orientation: np.ndarray | None
    position: np.ndarray | None
    pixel_spacing: tuple[float, float] | None


def functional_value(
    ds: Dataset, sequence: str, keyword: str, frame: int | None = None, *, per_frame_only: bool = False
) -> Any:
    """A value from the frame's per-frame functional group, else the shared group, else the top level.

    Enhanced multi-frame objects keep geometry and rescale in functional group macros; classic
    objects keep them at the top level. None when absent.
    """
    groups: list[Dataset] = []
    if frame is not None and "PerFrameFunctionalGroupsSequence" in ds:
        per_frame = ds.PerFrameFunctionalGroupsSequence
        if frame < len(per_frame):
            groups.append(per_frame[frame])
    if not per_frame_only and "SharedFunctionalGroupsSequence" in ds and ds.SharedFunctionalGroupsSequence:
        groups.append(ds.SharedFunctionalGroupsSequence[0])
    for group in groups:
        items = group.get(sequence)
        if items and _present(items[0], keyword):
            return items[0][keyword].value
    if not per_frame_only and _present(ds, keyword):
        return ds[keyword].value
    return None


def _present(ds: Dataset, keyword: str) -> bool:
    """Whether `keyword` is in `ds` with a non-empty value."""
    return keyword in ds and ds[keyword].value not in (None, "")


def _vector(value: Any, length: int) -> np.ndarray | None:
    """A float vector of `length` values, or None when absent or malformed."""
    if value is None:
        return None
    vector = np.array([float(v) for v in value], dtype=np.float64)
    return vector if vector.shape == (length,) else None


def parse_header(label: str, path: Path) -> DicomHeader | None:
    """The header of a DICOM image file; None for a file that is not DICOM or holds no image."""
    try:
        if not is_dicom(path):
            return None
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        if "Rows" not in ds or "Columns" not in ds:
            return None
        spacing = _vector(functional_value(ds, "PixelMeasuresSequence", "PixelSpacing", 0), 2)
        return DicomHeader(
            label=label,
            path=path,
            dataset=ds,
            series_uid=str(ds.get("SeriesInstanceUID", "")),
            series_description=str(ds.get("SeriesDescription", "")),
            rows=int(ds.Rows),
            columns=int(ds.Columns),
            frames=int(ds.get("NumberOfFrames", 1) or 1),
            orientation=_vector(
                functional_value(ds, "PlaneOrientationSequence", "ImageOrientationPatient", 0), 6
            ),
            position=_vector(functional_value(ds, "PlanePositionSequence", "ImagePositionPatient", 0), 3),
            pixel_spacing=(float(spacing[0]), float(spacing[1])) if spacing is not None else None,
        )
    except PYDICOM_ERRORS as exc:
        raise UnreadableVolumeError(
            f"{label}: cannot be read as DICOM ({library_detail(exc, path, label)})"
        ) from exc


def read_full(header: DicomHeader) -> Dataset:
    """The whole dataset of a file whose header was parsed, pixel data included."""
    try:
        return pydicom.dcmread(header.path)
    except PYDICOM_ERRORS as exc:
        raise UnreadableVolumeError(
            f"{header.label}: cannot be read as DICOM ({library_detail(exc, header.path, header.label)})"
        ) from exc


def rescale(ds: Dataset, frame: int | None = None) -> tuple[float, float]:
    """(RescaleSlope, RescaleIntercept) of a frame; identity when absent (or a nonsensical slope of 0)."""
    slope = functional_value(ds, "PixelValueTransformationSequence", "RescaleSlope", frame)
    intercept = functional_value(ds, "PixelValueTransformationSequence", "RescaleIntercept", frame)
    slope = float(slope) if slope is not None else 1.0
    return (slope if slope != 0 else 1.0, float(intercept) if intercept is not None else 0.0)
