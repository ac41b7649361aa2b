"""Read a DICOM series (directory, zip, or a single file, single- or multi-frame) into a Volume."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from shared.errors import AmbiguousSeriesError, InvalidVolumeError, UnreadableVolumeError
from shared.io.archive import extract_zip
from shared.io.dicom_headers import DicomHeader, parse_header
from shared.io.dicom_mosaic import read_mosaics
from shared.io.dicom_multiframe import read_multiframe
from shared.io.dicom_pixels import check_decodable, check_image_pixels
from shared.io.dicom_slices import read_single_frames
from shared.io.dicom_values import library_errors
from shared.io.formats import DICOM, DICOM_DIR, DICOM_ZIP
from shared.io.limits import ReadLimits, check_file_size
from shared.volume import Volume


def read_dicom(path: Path, fmt: str, limits: ReadLimits, series_uid: str | None, name: str) -> Volume:
    """Read a `.dcm` file, a directory or a `.zip` of DICOM files (format keys from formats.py).

    Every error is one of shared.errors' InputErrors: each file's own problems name that file (the member,
    in a zip); anything the per-file checks did not foresee while interpreting the files still becomes an
    UnreadableVolumeError naming the upload, never a library's exception.
    """
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
    """Keep the DICOM image files, pick one series, and read it in the layout its files have."""
    with library_errors(name):
        return _interpret(files, fmt, limits, series_uid, name)
    raise AssertionError("unreachable")  # library_errors re-raises; here for the type checker


def _interpret(
    files: Iterable[tuple[str, Path]], fmt: str, limits: ReadLimits, series_uid: str | None, name: str
) -> Volume:
    """_read_series' work, inside its last-resort conversion of unforeseen errors."""
    headers = [h for label, p in files if (h := parse_header(label, p)) is not None]
    if not headers:
        if fmt == DICOM:
            raise UnreadableVolumeError(f"{name}: not a DICOM image file")
        where = "archive" if fmt == DICOM_ZIP else "directory"
        raise UnreadableVolumeError(f"{name}: the {where} holds no DICOM images")
    series = _choose_series(headers, series_uid, name)
    for header in series:
        check_image_pixels(header)
        check_decodable(header.transfer_syntax, header.label)
    mosaics = sum(h.mosaic for h in series)
    if mosaics:
        if mosaics < len(series):
            raise InvalidVolumeError(
                f"{name}: the series mixes {mosaics} Siemens mosaic file(s) with {len(series) - mosaics} "
                "ordinary image file(s); it cannot be read as one volume or one series of volumes"
            )
        return read_mosaics(series, fmt, limits, name)
    if any(h.frames > 1 for h in series):
        if len(series) > 1:
            raise InvalidVolumeError(
                f"{name}: the series holds {len(series)} files, some multi-frame; "
                "only one multi-frame file or a series of single-frame files can be read"
            )
        return read_multiframe(series[0], fmt, limits, name)
    return read_single_frames(series, fmt, limits, name)


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
            f"{name}: holds {len(by_series)} DICOM series; choose one with series_uid (the API field; on the command line --series-uid): "
            f"{_list_series(by_series)}"
        )
    return next(iter(by_series.values()))


def _list_series(by_series: dict[str, list[DicomHeader]]) -> str:
    """Each series as `UID ('description', N slices)` (or `N mosaic files`), sorted by UID."""
    return ", ".join(
        f"{uid} ('{group[0].series_description}', {_size(group)})" for uid, group in sorted(by_series.items())
    )


def _size(group: list[DicomHeader]) -> str:
    """How much a series holds, in the unit a user sees in a DICOM browser."""
    if all(h.mosaic for h in group):
        return f"{len(group)} mosaic file{'s' if len(group) > 1 else ''}"
    return f"{sum(h.frames for h in group)} slices"
