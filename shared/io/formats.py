"""Which format a file is, by its name (and, for a directory on disk, by being one)."""

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

FILE_SUFFIXES: dict[str, tuple[str, ...]] = {
    NIFTI: (".nii.gz", ".nii"),
    DICOM_ZIP: (".zip",),
    DICOM: (".dcm",),
    NPY: (".npy",),
}
"""The suffixes of each single-file format, the canonical one first (checked longest first)."""


def format_of_name(name: str) -> str:
    """The format a file name announces by its (case-insensitive) suffix; never looks at the disk."""
    lowered = name.lower()
    for fmt, suffixes in FILE_SUFFIXES.items():
        if any(lowered.endswith(s) and len(lowered) > len(s) for s in suffixes):
            return fmt
    raise UnsupportedFormatError(f"{name}: unsupported file format; supported: {SUPPORTED}")


def canonical_suffix(name: str, fmt: str) -> str:
    """The suffix `name` has among its format's (keeps .nii vs .nii.gz), else the format's canonical one."""
    lowered = name.lower()
    suffixes = FILE_SUFFIXES[fmt]
    return next((s for s in suffixes if lowered.endswith(s)), suffixes[0])


def detect_format(path: str | Path) -> str:
    """The registry key of `path`'s format: an existing directory is a DICOM series, else by its name."""
    path = Path(path)
    if path.is_dir():
        return DICOM_DIR
    return format_of_name(path.name)


WRITABLE = ".nii, .nii.gz, .dcm, .zip or .npy"


def output_format(path: str | Path) -> str:
    """The format to write `path` in, by its suffix; one error for everything that is not a file name to
    write to: an existing directory, a name ending in a path separator, or a name without a writable suffix.

    Callers check an output with this before doing any work, so a bad name fails at once, the same way.
    """
    text = str(path)
    name = Path(text).name or text
    refusal = UnsupportedFormatError(
        f"{name}: not a file to write a volume to; name a file ending in {WRITABLE} (a directory cannot be one)"
    )
    if text.endswith(("/", "\\")) or Path(text).is_dir():
        raise refusal
    try:
        return format_of_name(Path(text).name)
    except UnsupportedFormatError:
        raise refusal from None
