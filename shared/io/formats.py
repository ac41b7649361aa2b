"""Which format a path is, by its name (and, for a directory, by being one)."""

from __future__ import annotations

from pathlib import Path

from shared.errors import UnsupportedFormatError

NIFTI = "nifti"
DICOM_ZIP = "dicom-zip"
DICOM = "dicom"
DICOM_DIR = "dicom-dir"
NPY = "npy"

SUPPORTED = (
    "NIfTI (.nii, .nii.gz), a DICOM series as a .zip or a directory, a single DICOM file (.dcm), NumPy (.npy)"
)

_SUFFIXES = ((".nii.gz", NIFTI), (".nii", NIFTI), (".zip", DICOM_ZIP), (".dcm", DICOM), (".npy", NPY))


def detect_format(path: str | Path) -> str:
    """The registry key of `path`'s format: nifti, dicom-zip, dicom, dicom-dir or npy.

    An existing directory is a DICOM series; anything else is judged by its (case-insensitive) suffix.
    """
    path = Path(path)
    if path.is_dir():
        return DICOM_DIR
    lowered = path.name.lower()
    for suffix, fmt in _SUFFIXES:
        if lowered.endswith(suffix) and len(lowered) > len(suffix):
            return fmt
    raise UnsupportedFormatError(f"{path.name}: unsupported file format; supported: {SUPPORTED}")
