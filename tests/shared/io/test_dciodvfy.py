"""Every kind of DICOM the project writes passes dciodvfy (dicom3tools) with no error its source did not have."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from io_helpers import make_zip, nicom_file, pydicom_file

from shared.io import read_volume, write_volume
from shared.volume import Volume

DCIODVFY = shutil.which("dciodvfy")
pytestmark = pytest.mark.skipif(
    DCIODVFY is None,
    reason="dciodvfy is not installed here (Debian: apt-get install dicom3tools; CI installs it)",
)


def dicom_files(path: Path, folder: Path) -> list[Path]:
    """The DICOM files a path stands for: itself, a directory's files, or a zip's members extracted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    if path.suffix == ".zip":
        target = folder / f"{path.name}.files"
        with zipfile.ZipFile(path) as archive:
            archive.extractall(target)
        return sorted(p for p in target.rglob("*") if p.is_file())
    return [path]


def errors(files: list[Path]) -> set[str]:
    """dciodvfy's error lines over `files` (warnings are advice, not IOD violations)."""
    found: set[str] = set()
    for file in files:
        result = subprocess.run(
            [str(DCIODVFY), "-new", str(file)], capture_output=True, text=True, check=False
        )
        found |= {
            line.strip() for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")
        }
    return found


def _mosaic_pair(folder: Path) -> Path:
    """nibabel's two real Siemens mosaic DWI files as a zip."""
    members = {
        n: nicom_file(f"{n}.gz", folder).read_bytes() for n in ("siemens_dwi_0.dcm", "siemens_dwi_1000.dcm")
    }
    return make_zip(folder / "dwi.zip", members)


def _nifti(volume: Volume, folder: Path) -> Path:
    """A 3D NIfTI of 8 slices of MNI anatomy."""
    path = folder / "anatomy.nii.gz"
    nib.save(nib.Nifti1Image(volume.data[20:28].transpose(2, 1, 0), volume.affine), path)
    return path


def _nifti_4d(volume: Volume, folder: Path) -> Path:
    """A 4D NIfTI: two volumes of 6 slices."""
    frames = np.stack([volume.data[20:26], volume.data[20:26] * 2])
    path = folder / "series.nii.gz"
    nib.save(nib.Nifti1Image(frames.transpose(3, 2, 1, 0), volume.affine), path)
    return path


SOURCES: dict[str, Callable[[Path, Volume], Path | None]] = {
    "classic single-frame (MR_small.dcm)": lambda folder, volume: pydicom_file("MR_small.dcm"),
    "enhanced MR multi-frame (emri_small.dcm)": lambda folder, volume: pydicom_file("emri_small.dcm"),
    "NIfTI": lambda folder, volume: _nifti(volume, folder),
    "4D NIfTI": lambda folder, volume: _nifti_4d(volume, folder),
    "one Siemens mosaic": lambda folder, volume: nicom_file("siemens_dwi_0.dcm.gz", folder),
    "a series of Siemens mosaics": lambda folder, volume: _mosaic_pair(folder),
}
CASES = [
    ("classic single-frame (MR_small.dcm)", ".dcm"),
    ("classic single-frame (MR_small.dcm)", ".zip"),
    ("enhanced MR multi-frame (emri_small.dcm)", ".dcm"),
    ("enhanced MR multi-frame (emri_small.dcm)", ".zip"),
    ("NIfTI", ".dcm"),
    ("NIfTI", ".zip"),
    ("4D NIfTI", ".zip"),
    ("one Siemens mosaic", ".dcm"),
    ("one Siemens mosaic", ".zip"),
    ("a series of Siemens mosaics", ".zip"),
]


@pytest.mark.parametrize(("source", "suffix"), CASES)
def test_output_has_no_new_dciodvfy_error(source: str, suffix: str, small_mni_volume: Volume, tmp_path: Path):
    """The written DICOM (every file of it) has no dciodvfy error that its DICOM source does not have itself;
    from NIfTI, none at all."""
    path = SOURCES[source](tmp_path, small_mni_volume)
    assert path is not None, f"{source}: the test file is not installed"
    volume = read_volume(path)
    before = set() if path.name.endswith(".nii.gz") else errors(dicom_files(path, tmp_path))
    out = write_volume(volume.with_data(volume.data * 0.5), tmp_path / f"denoised{suffix}")
    assert sorted(errors(dicom_files(out, tmp_path)) - before) == []


def test_the_check_itself_sees_errors(tmp_path: Path):
    """dciodvfy reports a DERIVED enhanced image that keeps its pulse-sequence attributes (what the writer
    used to produce), so an empty difference above means something."""
    import pydicom

    ds = pydicom.dcmread(pydicom_file("emri_small.dcm"))
    ds.ImageType = ["DERIVED", "SECONDARY", "VOLUME", "NONE"]
    path = tmp_path / "bad.dcm"
    ds.save_as(path)
    new = errors([path]) - errors([pydicom_file("emri_small.dcm")])  # type: ignore[list-item]
    assert any("ImageType" in line for line in new)
    assert any("PulseSequenceName" in line for line in new)
