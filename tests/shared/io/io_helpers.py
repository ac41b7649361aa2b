"""Helpers for the volume I/O tests: pydicom test files, zips, DICOM bytes (a unique module name, so
no other test folder's helpers can shadow it)."""

from __future__ import annotations

import gzip
import importlib.util
import io
import zipfile
from pathlib import Path

import nibabel
import pydicom
import pytest
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


NICOM_DATA = Path(nibabel.__file__).parent / "nicom" / "tests" / "data"
"""nibabel's own DICOM test files (real Siemens mosaics among them); they ship inside nibabel's wheel."""


def nicom_file(name: str, folder: Path) -> Path:
    """A file of nibabel's DICOM test data, un-gzipped into `folder` when it is stored as .gz."""
    source = NICOM_DATA / name
    if not name.endswith(".gz"):
        return source
    target = folder / name.removesuffix(".gz")
    target.write_bytes(gzip.decompress(source.read_bytes()))
    return target


def heudiconv_data() -> Path:
    """heudiconv's test DICOMs (real Siemens mosaic DWI among them); the test is skipped, saying why, when
    heudiconv is not installed. Its package is located, never imported (its import pulls nipype in)."""
    spec = importlib.util.find_spec("heudiconv")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    data = Path(folders[0]) / "tests" / "data" if folders else None
    if data is None or not data.is_dir():
        pytest.skip("heudiconv's test DICOMs are not installed (the dev extra installs heudiconv)")
    return data
