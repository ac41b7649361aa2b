"""Volume I/O: one registry of readers and writers keyed by format; callers only ever see `Volume`.

Formats: NIfTI (.nii, .nii.gz), a DICOM series (.zip, or a directory), a single DICOM file (.dcm,
single slice or multi-frame) and NumPy (.npy). pydicom and nibabel stay inside this package.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shared.errors import ConfigError, UnreadableVolumeError, UnsupportedFormatError
from shared.io.dicom_read import read_dicom
from shared.io.dicom_write import write_dicom_file, write_dicom_zip
from shared.io.formats import DICOM, DICOM_DIR, DICOM_ZIP, NIFTI, NPY, SUPPORTED, detect_format, output_format
from shared.io.limits import ReadLimits, check_file_size
from shared.io.nifti import read_nifti, write_nifti
from shared.io.numpy_io import read_npy, write_npy
from shared.volume import Volume

__all__ = ["ReadLimits", "detect_format", "output_format", "read_volume", "write_volume"]

_WRITERS: dict[str, Callable[[Volume, Path, str], Path]] = {
    NPY: lambda volume, path, _description: write_npy(volume, path),
    DICOM_ZIP: write_dicom_zip,
    DICOM: write_dicom_file,
}


def read_volume(
    path: str | Path,
    *,
    limits: ReadLimits | None = None,
    series_uid: str | None = None,
    name: str | None = None,
) -> Volume:
    """Read any supported file (or DICOM directory) into a Volume.

    `name` is what error messages call the file (default: its file name); `series_uid` picks one
    series from a DICOM upload that holds several. Every error is a shared.errors.InputError.
    """
    path = Path(path)
    name = name if name is not None else path.name
    limits = limits if limits is not None else ReadLimits.from_settings()
    try:
        fmt = detect_format(path)
    except UnsupportedFormatError as exc:
        raise UnsupportedFormatError(f"{name}: unsupported file format; supported: {SUPPORTED}") from exc
    if not path.exists():
        raise UnreadableVolumeError(f"{name}: no such file or directory")
    if fmt in (DICOM, DICOM_ZIP, DICOM_DIR):
        return read_dicom(path, fmt, limits, series_uid, name)
    check_file_size(path, limits, name)
    reader = read_nifti if fmt == NIFTI else read_npy
    return reader(path, limits, name)


def write_volume(
    volume: Volume,
    path: str | Path,
    *,
    description: str = "denoised",
    keep_dtype: bool = False,
    as_new_series: bool = False,
) -> Path:
    """Write `volume` in the format of `path`'s extension, atomically; returns the path.

    A volume read from the same format keeps its metadata (NIfTI header; a DICOM source becomes a
    derived series with new UIDs); from another format, geometry comes from the volume's affine.
    `keep_dtype` (NIfTI outputs) stores the input's data type and scaling instead of float32, rounding half
    to even and clipping to the type's range (stored_type.py); DICOM outputs always store integers (the
    source's type, or 16 bits for a new series), so it changes nothing there; a .npy output is float32
    and refuses it. A directory, or a name without a writable suffix, is refused before anything is written.
    `as_new_series` (DICOM outputs) writes a new series in the source's study, with a rescale of its own,
    instead of a derived copy in the source's stored type: for values that type cannot hold (a residual).
    """
    fmt = output_format(path)
    path = Path(path)
    if fmt == NIFTI:
        return write_nifti(volume, path, description, keep_dtype=keep_dtype)
    if keep_dtype and fmt == NPY:
        raise ConfigError(
            f"{path.name}: a .npy output is float32; keeping the input's data type needs a NIfTI output"
        )
    if fmt in (DICOM, DICOM_ZIP):
        writer = write_dicom_zip if fmt == DICOM_ZIP else write_dicom_file
        return writer(volume, path, description, as_new_series=as_new_series)
    return _WRITERS[fmt](volume, path, description)
