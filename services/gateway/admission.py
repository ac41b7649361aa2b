"""What an uploaded file will cost to read, judged from its header before anything is decoded.

The readers (shared/io) allocate what a header declares: an 85-byte `.nii.gz` whose header promised a
512x512x1024 float32 volume made nibabel allocate 1 GB before it found the data missing, and a zip is
extracted to disk before its members are found not to be DICOM. Here, at the gateway's door, each file is
checked from what it declares, with the settings' limits, before the reader pays:

- NIfTI (.nii, .nii.gz): the header's shape and bits per voxel give the decoded size, refused over
  MAX_DECODED_BYTES; the voxels it promises must be in the file (a .nii's size; a .nii.gz is decompressed
  as a stream, counting bytes, never holding more than a chunk), else the file is truncated (422).
- .npy: the same from numpy's own header reader.
- DICOM .zip: from the central directory, the reader's own limits (members, total size, compression ratio
  of the archive and of each member, unsafe paths), then from the first 132 bytes of each member (never
  extracting one): an archive without a single DICOM file (the "DICM" preamble) is refused before it is
  unpacked.

Only the fields needed are read (for NIfTI with shared/io/nifti_header.py's `struct` parser, which the reader
shares: nibabel stays inside shared/io by design).
A header these checks cannot parse is left to the reader, whose error names the problem.
"""

from __future__ import annotations

import gzip
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from shared.errors import TooLargeError, UnreadableVolumeError
from shared.io.archive import check_directory
from shared.io.formats import DICOM_ZIP, NIFTI, NPY
from shared.io.limits import ReadLimits
from shared.io.nifti_header import DeclaredHeader, declared_header, read_declared_header
from shared.settings import Settings

_CHUNK = 1 << 20
_DICOM_PREAMBLE = 128


def check_cost(path: Path, fmt: str, settings: Settings, name: str) -> None:
    """Refuse a stored upload whose declared content is over the limits or not there (4xx), before reading."""
    if fmt == NIFTI:
        _check_nifti(path, settings, name)
    elif fmt == NPY:
        _check_npy(path, settings, name)
    elif fmt == DICOM_ZIP:
        _check_dicom_zip(path, settings, name)


def _check_decoded(voxels: int, bits: int, settings: Settings, name: str) -> int:
    """The decoded size in bytes, refused over MAX_VOXELS or MAX_DECODED_BYTES (413)."""
    size = voxels * max(bits, 8) // 8
    if voxels > settings.MAX_VOXELS:
        raise TooLargeError(
            f"{name}: the header declares {voxels} voxels, over the limit of {settings.MAX_VOXELS}"
        )
    if size > settings.MAX_DECODED_BYTES:
        raise TooLargeError(
            f"{name}: the header declares {size} bytes of voxels, over the limit of {settings.MAX_DECODED_BYTES} "
            "(MAX_DECODED_BYTES)"
        )
    return size


def nifti_header_fields(block: bytes) -> tuple[int, int, int] | None:
    """(voxels, bits per voxel, offset of the voxels) from the start of a NIfTI-1 or NIfTI-2 file; None when
    it is neither, or declares what no reader could honour (the reader then says why)."""
    return _cost_fields(declared_header(block))


def _cost_fields(declared: DeclaredHeader | None) -> tuple[int, int, int] | None:
    """(voxels, bits per voxel, offset of the voxels) of a declared header, None when they make no sense."""
    if declared is None:
        return None
    ndim, dims, bits, offset = declared.dim[0], declared.dim[1:], declared.bits, declared.vox_offset
    if not 1 <= ndim <= 7 or bits <= 0 or any(d < 0 for d in dims[:ndim]):
        return None
    if not (math.isfinite(offset) and offset >= 0):  # NaN, negative or infinite: the reader names it
        return None
    voxels = int(np.prod([max(int(d), 1) for d in dims[:ndim]], dtype=object))
    # 4 bytes of extension flags follow the header
    return voxels, bits, max(int(offset), declared.header_bytes + 4)


def _check_nifti(path: Path, settings: Settings, name: str) -> None:
    """Decoded size within the limits, and every promised voxel byte present."""
    fields = _cost_fields(read_declared_header(path))
    if fields is None:
        return
    voxels, bits, offset = fields
    needed = offset + _check_decoded(voxels, bits, settings, name)
    compressed = path.name.lower().endswith(".gz")
    present = _gzip_length(path, needed) if compressed else path.stat().st_size
    if present is not None and present < needed:
        raise UnreadableVolumeError(
            f"{name}: truncated: the header declares {needed - offset} bytes of voxels, the file holds "
            f"{max(0, present - offset)}"
        )


def _gzip_length(path: Path, enough: int) -> int | None:
    """Bytes a gzip file decompresses to, counted in chunks, stopping once `enough` is reached (None when the
    stream is corrupt: the reader says so)."""
    total = 0
    try:
        with gzip.open(path, "rb") as handle:
            while total < enough and (chunk := handle.read(_CHUNK)):
                total += len(chunk)
    except (OSError, EOFError, zlib.error):
        return None
    return total


def _check_npy(path: Path, settings: Settings, name: str) -> None:
    """The same for a .npy: its header's shape and dtype, against the file's size."""
    try:
        with path.open("rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(handle)
            offset = handle.tell()
    except (ValueError, EOFError, OSError, TypeError):
        return
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        return  # the reader refuses pickles with its own message
    voxels = int(np.prod([int(n) for n in shape], dtype=object)) if shape else 1
    needed = offset + _check_decoded(voxels, dtype.itemsize * 8, settings, name)
    if path.stat().st_size < needed:
        raise UnreadableVolumeError(
            f"{name}: truncated: the header declares {needed - offset} bytes of voxels, the file holds "
            f"{max(0, path.stat().st_size - offset)}"
        )


def _check_dicom_zip(path: Path, settings: Settings, name: str) -> None:
    """The archive within the reader's limits and at least one member starting like a DICOM file, checked
    without extracting any (the reader extracts)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            # A bomb or a zip slip is refused before a single member is opened, in the reader's own words.
            check_directory(infos, path.stat().st_size, ReadLimits.from_settings(settings), name)
            for info in (info for info in infos if not info.is_dir()):
                try:
                    with archive.open(info) as member:
                        head = member.read(_DICOM_PREAMBLE + 4)
                except (OSError, EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError, RuntimeError):
                    continue
                if head[_DICOM_PREAMBLE:] == b"DICM":
                    return
    except (zipfile.BadZipFile, OSError, EOFError):
        return  # the reader names what is wrong with the archive
    # The reader's own wording (it keeps only files with the preamble), said before anything is unpacked.
    raise UnreadableVolumeError(f"{name}: the archive holds no DICOM images")
