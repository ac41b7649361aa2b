"""Helpers for the volume I/O tests: pydicom test files, zips, DICOM bytes (a unique module name, so
no other test folder's helpers can shadow it)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset


def pydicom_file(name: str) -> Path | None:
    """A file bundled with pydicom, or None when it is not installed (never downloads)."""
    found = get_testdata_file(name, download=False)
    return Path(found) if found else None


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    """Write `members` (name -> content) into a zip at `path`."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def dicom_bytes(ds: Dataset) -> bytes:
    """A dataset as a DICOM Part 10 file."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def zip_datasets(path: Path) -> list[Dataset]:
    """Every DICOM file inside a zip, parsed."""
    with zipfile.ZipFile(path) as archive:
        return [pydicom.dcmread(io.BytesIO(archive.read(info))) for info in archive.infolist()]
