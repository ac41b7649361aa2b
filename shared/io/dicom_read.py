"""Read a DICOM series (directory, zip, or a single file, single- or multi-frame) into a Volume."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from shared.errors import AmbiguousSeriesError, InvalidVolumeError, UnreadableVolumeError
from shared.io.archive import extract_zip
from shared.io.dicom_geometry import PlaneGeometry, affine_from_dicom, same_orientation, slice_order
from shared.io.dicom_headers import DicomHeader, parse_header, read_full, rescale
from shared.io.dicom_multiframe import read_multiframe
from shared.io.dicom_pixels import check_decodable, check_image_pixels, decode_frames
from shared.io.dicom_source import DicomSource
from shared.io.formats import DICOM, DICOM_DIR, DICOM_ZIP
from shared.io.limits import ReadLimits, check_file_size, check_voxel_count
from shared.volume import Volume, check_voxels

_DEFAULT_ORIENTATION = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])


def read_dicom(path: Path, fmt: str, limits: ReadLimits, series_uid: str | None, name: str) -> Volume:
    """Read a `.dcm` file, a directory or a `.zip` of DICOM files (format keys from formats.py)."""
    if fmt == DICOM_DIR:
        files = sorted(p for p in path.rglob("*") if p.is_file())
        labelled = [(f"{name}: {p.relative_to(path)}", p) for p in files]
        for label, file in labelled:
            check_file_size(file, limits, label)
        return _read_series(labelled, fmt, limits, series_uid, name)
    check_file_size(path, limits, name)
    if fmt == DICOM:
        return _read_series([(name, path)], fmt, limits, series_uid, name)
    # Members are extracted to a private directory that is removed even when reading fails.
    with tempfile.TemporaryDirectory(prefix="fetal-denoise-") as tmp:
        members = extract_zip(path, Path(tmp), limits, name)
        return _read_series(((f"{name}: {m}", p) for m, p in members), fmt, limits, series_uid, name)


def _read_series(
    files: Iterable[tuple[str, Path]], fmt: str, limits: ReadLimits, series_uid: str | None, name: str
) -> Volume:
    """Keep the DICOM image files, pick one series, order its slices and decode them."""
    headers = [h for label, p in files if (h := parse_header(label, p)) is not None]
    if not headers:
        if fmt == DICOM:
            raise UnreadableVolumeError(f"{name}: not a DICOM image file")
        where = "archive" if fmt == DICOM_ZIP else "directory"
        raise UnreadableVolumeError(f"{name}: the {where} holds no DICOM images")
    series = _choose_series(headers, series_uid, name)
    for header in series:
        check_image_pixels(header.dataset, header.label)
        check_decodable(header.dataset.file_meta.TransferSyntaxUID, header.label)
    if any(h.frames > 1 for h in series):
        if len(series) > 1:
            raise InvalidVolumeError(
                f"{name}: the series holds {len(series)} files, some multi-frame; "
                "only one multi-frame file or a series of single-frame files can be read"
            )
        return read_multiframe(series[0], fmt, limits, name)
    return _read_single_frames(series, fmt, limits, name)


def _choose_series(headers: list[DicomHeader], series_uid: str | None, name: str) -> list[DicomHeader]:
    """The headers of the one series to read: the only one, or the one `series_uid` names."""
    by_series: dict[str, list[DicomHeader]] = {}
    for header in headers:
        by_series.setdefault(header.series_uid, []).append(header)
    if series_uid is not None:
        if series_uid not in by_series:
            raise AmbiguousSeriesError(
                f"{name}: no series has SeriesInstanceUID {series_uid}; it holds {_list_series(by_series)}"
            )
        return by_series[series_uid]
    if len(by_series) > 1:
        raise AmbiguousSeriesError(
            f"{name}: holds {len(by_series)} DICOM series; choose one with series_uid: "
            f"{_list_series(by_series)}"
        )
    return next(iter(by_series.values()))


def _list_series(by_series: dict[str, list[DicomHeader]]) -> str:
    """Each series as `UID ('description', N slices)`, sorted by UID."""
    return ", ".join(
        f"{uid} ('{group[0].series_description}', {sum(h.frames for h in group)} slices)"
        for uid, group in sorted(by_series.items())
    )


def _plane(series: list[DicomHeader], name: str) -> PlaneGeometry:
    """The in-plane geometry every slice shares; refuses slices that disagree."""
    sizes = sorted({(h.rows, h.columns) for h in series})
    if len(sizes) > 1:
        listed = ", ".join(f"{r}x{c}" for r, c in sizes)
        raise InvalidVolumeError(f"{name}: the slices have different sizes (rows x columns): {listed}")
    first = series[0]
    orientation = first.orientation if first.orientation is not None else _DEFAULT_ORIENTATION
    spacing = first.pixel_spacing or (1.0, 1.0)
    for header in series[1:]:
        if header.orientation is None or not same_orientation(header.orientation, orientation):
            raise InvalidVolumeError(f"{name}: the slices have different ImageOrientationPatient values")
        if not np.allclose(header.pixel_spacing or (1.0, 1.0), spacing, atol=1e-4):
            raise InvalidVolumeError(f"{name}: the slices have different PixelSpacing values")
    return PlaneGeometry(orientation=orientation, pixel_spacing=spacing)


def _read_single_frames(series: list[DicomHeader], fmt: str, limits: ReadLimits, name: str) -> Volume:
    """Order single-frame slices along their normal (never by InstanceNumber), decode and rescale."""
    check_voxel_count((len(series), series[0].rows, series[0].columns), limits, name)
    plane = _plane(series, name)
    if len(series) == 1:
        ds = series[0].dataset
        thickness = ds.get("SpacingBetweenSlices") or ds.get("SliceThickness") or 1.0
        order, step = np.array([0]), plane.normal * float(thickness)
        first = series[0].position if series[0].position is not None else np.zeros(3)
    else:
        if any(h.position is None for h in series):
            raise InvalidVolumeError(
                f"{name}: some slices have no ImagePositionPatient, so the series cannot be ordered"
            )
        positions = np.array([h.position for h in series])
        order, step = slice_order(positions, plane, name)
        first = positions[order[0]]
    ordered = [series[i] for i in order]
    data = np.empty((len(ordered), ordered[0].rows, ordered[0].columns), dtype=np.float32)
    scales = []
    for k, header in enumerate(ordered):
        frames = decode_frames(read_full(header), header.label)
        slope, intercept = rescale(header.dataset, 0)
        data[k] = frames[0] * slope + intercept
        scales.append((slope, intercept))
    check_voxels(data, name)
    source = DicomSource(
        format=fmt, datasets=tuple(h.dataset for h in ordered), frame_order=(), rescale=tuple(scales)
    )
    return Volume(data=data, affine=affine_from_dicom(plane, first, step), source=source)
