"""Parse what the reader needs from a DICOM file's header, before any pixel data is read."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.misc import is_dicom
from pydicom.uid import UID

from shared.errors import UnreadableVolumeError
from shared.io.dicom_values import library_errors, numbers, one_integer, one_number, parse_all


@dataclass(frozen=True, eq=False)
class DicomHeader:
    """One DICOM image file's header (no pixel data) and the values the reader uses from it, all checked."""

    label: str  # how error messages name this file
    path: Path
    dataset: Dataset
    transfer_syntax: UID
    series_uid: str
    series_description: str
    image_type: tuple[str, ...]
    rows: int
    columns: int
    frames: int
    samples_per_pixel: int
    photometric: str
    orientation: np.ndarray | None
    position: np.ndarray | None
    pixel_spacing: tuple[float, float] | None
    slice_gap: float | None  # SpacingBetweenSlices, else SliceThickness (mm), when positive
    temporal_position: int | None  # TemporalPositionIdentifier
    acquisition_number: int | None
    acquisition_time: str  # AcquisitionDateTime, else AcquisitionDate + AcquisitionTime; "" when absent
    instance_number: int | None
    dropped: tuple[str, ...] = ()  # private elements that could not be decoded, removed from `dataset`

    @property
    def mosaic(self) -> bool:
        """Whether this is a Siemens mosaic: many slices tiled into one image (ImageType holds MOSAIC)."""
        return "MOSAIC" in self.image_type


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


def _vector(value: Any, keyword: str, length: int, label: str) -> np.ndarray | None:
    """A float vector of `length` values, None when absent; a malformed one is refused by name."""
    values = numbers(value, keyword, length, label)
    return np.array(values, dtype=np.float64) if values is not None else None


def _positive_size(ds: Dataset, keyword: str, label: str) -> int:
    """Rows or Columns: a positive integer."""
    value = one_integer(ds.get(keyword), keyword, label)
    if value is None or value < 1:
        raise UnreadableVolumeError(f"{label}: {keyword} is {value}; a positive number of pixels is expected")
    return value


def _slice_gap(ds: Dataset, label: str) -> float | None:
    """The slice spacing the header states (mm): SpacingBetweenSlices, else SliceThickness, when positive."""
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        value = one_number(functional_value(ds, "PixelMeasuresSequence", keyword, 0), keyword, label)
        if value is not None and value > 0:
            return value
    return None


def _acquisition_time(ds: Dataset) -> str:
    """A sortable acquisition time stamp: AcquisitionDateTime, else AcquisitionDate + AcquisitionTime."""
    stamp = str(ds.get("AcquisitionDateTime", "") or "").strip()
    if stamp:
        return stamp
    return str(ds.get("AcquisitionDate", "") or "").strip() + str(ds.get("AcquisitionTime", "") or "").strip()


def _transfer_syntax(ds: Dataset, label: str) -> UID:
    """The file's transfer syntax, which the pixel decoder needs; a file meta without one is refused."""
    meta = getattr(ds, "file_meta", None)
    value = meta.get("TransferSyntaxUID") if meta is not None else None
    if not value:
        raise UnreadableVolumeError(
            f"{label}: the file meta information has no TransferSyntaxUID, so its pixel data cannot be decoded"
        )
    return UID(str(value))


def parse_header(label: str, path: Path) -> DicomHeader | None:
    """The header of a DICOM image file; None for a file that is not DICOM or holds no image."""
    with library_errors(label, path):
        if not is_dicom(path):
            return None
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        if "Rows" not in ds or "Columns" not in ds:
            return None
        dropped = parse_all(ds, label)
        return replace(_header(label, path, ds), dropped=tuple(dropped))
    raise AssertionError("unreachable")  # library_errors re-raises; here for the type checker


def _header(label: str, path: Path, ds: Dataset) -> DicomHeader:
    """Every value the reader uses, typed and checked."""
    spacing = _vector(
        functional_value(ds, "PixelMeasuresSequence", "PixelSpacing", 0), "PixelSpacing", 2, label
    )
    image_type = ds.get("ImageType", [])
    image_type = [image_type] if isinstance(image_type, str) else list(image_type or [])
    frames = one_integer(ds.get("NumberOfFrames"), "NumberOfFrames", label)
    if frames is not None and frames < 1:
        raise UnreadableVolumeError(f"{label}: NumberOfFrames is {frames}; at least 1 is expected")
    return DicomHeader(
        label=label,
        path=path,
        dataset=ds,
        transfer_syntax=_transfer_syntax(ds, label),
        series_uid=str(ds.get("SeriesInstanceUID", "")),
        series_description=str(ds.get("SeriesDescription", "")),
        image_type=tuple(str(v).strip().upper() for v in image_type),
        rows=_positive_size(ds, "Rows", label),
        columns=_positive_size(ds, "Columns", label),
        frames=frames or 1,
        samples_per_pixel=one_integer(ds.get("SamplesPerPixel"), "SamplesPerPixel", label) or 1,
        photometric=str(ds.get("PhotometricInterpretation", "MONOCHROME2") or "MONOCHROME2").strip(),
        orientation=_vector(
            functional_value(ds, "PlaneOrientationSequence", "ImageOrientationPatient", 0),
            "ImageOrientationPatient",
            6,
            label,
        ),
        position=_vector(
            functional_value(ds, "PlanePositionSequence", "ImagePositionPatient", 0),
            "ImagePositionPatient",
            3,
            label,
        ),
        pixel_spacing=(spacing[0], spacing[1]) if spacing is not None else None,
        slice_gap=_slice_gap(ds, label),
        temporal_position=one_integer(
            ds.get("TemporalPositionIdentifier"), "TemporalPositionIdentifier", label
        ),
        acquisition_number=one_integer(ds.get("AcquisitionNumber"), "AcquisitionNumber", label),
        acquisition_time=_acquisition_time(ds),
        instance_number=one_integer(ds.get("InstanceNumber"), "InstanceNumber", label),
    )


def read_full(header: DicomHeader) -> Dataset:
    """The whole dataset of a file whose header was parsed, pixel data included."""
    with library_errors(header.label, header.path):
        return pydicom.dcmread(header.path)
    raise AssertionError("unreachable")  # library_errors re-raises; here for the type checker


def rescale(ds: Dataset, frame: int | None, label: str) -> tuple[float, float]:
    """(RescaleSlope, RescaleIntercept) of a frame; identity when absent (or a nonsensical slope of 0)."""
    slope_value = functional_value(ds, "PixelValueTransformationSequence", "RescaleSlope", frame)
    intercept_value = functional_value(ds, "PixelValueTransformationSequence", "RescaleIntercept", frame)
    slope = one_number(slope_value, "RescaleSlope", label)
    intercept = one_number(intercept_value, "RescaleIntercept", label)
    return (slope if slope else 1.0, intercept if intercept is not None else 0.0)


def dropped_warning(headers: list[DicomHeader]) -> list[str]:
    """One sentence naming the private elements left out of the headers (none when nothing was dropped)."""
    dropped = [(h.label, tag) for h in headers for tag in h.dropped]
    if not dropped:
        return []
    label, tag = dropped[0]
    return [
        f"{len(dropped)} private DICOM attribute(s) that could not be decoded were left out (the first: {tag} "
        f"in {label}); a DICOM output does not carry them."
    ]
