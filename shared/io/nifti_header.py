"""The few fields of a NIfTI-1 or NIfTI-2 header that say where the voxels are and how many there are, parsed
with `struct` from a file's first bytes, trusting nothing.

Two callers judge a file by them before nibabel reads it: the reader (shared/io/nifti.py), because nibabel's
own header checks fail with bare exceptions on some values (an infinite vox_offset), and the gateway's door
(services/gateway/admission.py), which must know a file's cost without importing nibabel.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

NIFTI1_HEADER_BYTES = 348
NIFTI2_HEADER_BYTES = 540


@dataclass(frozen=True)
class DeclaredHeader:
    """What a header declares, as stored: `dim` is the whole dim array (dim[0] the number of dimensions),
    `bits` is bitpix, `vox_offset` where the voxels start (a float in NIfTI-1, so possibly NaN or infinite)."""

    header_bytes: int
    dim: tuple[int, ...]
    bits: int
    vox_offset: float


_NIFTI1_MAGICS = (b"n+1\0", b"ni1\0")


def _nifti1_fields(block: bytes, endian: str) -> DeclaredHeader:
    """The declared fields of a NIfTI-1 header in byte order `endian`."""
    dim = struct.unpack(f"{endian}8h", block[40:56])
    bits = struct.unpack(f"{endian}h", block[72:74])[0]
    offset = float(struct.unpack(f"{endian}f", block[108:112])[0])
    return DeclaredHeader(
        header_bytes=NIFTI1_HEADER_BYTES, dim=tuple(int(d) for d in dim), bits=int(bits), vox_offset=offset
    )


def _nifti1_by_magic(block: bytes) -> DeclaredHeader | None:
    """A block with NIfTI-1's magic, whatever its sizeof_hdr says, read as nibabel reads it.

    nibabel picks NIfTI-1 by the magic at byte 344 and quietly repairs a wrong sizeof_hdr, so a NIfTI-1 file
    whose sizeof_hdr claims NIfTI-2's 540 is read with NIfTI-1's layout: judging it as NIfTI-2 let an infinite
    vox_offset through to nibabel, which failed on it with a bare OverflowError (a 500). The byte order is
    nibabel's guess too: the one in which dim[0] is a number of dimensions (1-7), else sizeof_hdr's.
    """
    if len(block) < NIFTI1_HEADER_BYTES or block[344:348] not in _NIFTI1_MAGICS:
        return None
    for endian in "<>":
        if 1 <= struct.unpack(f"{endian}h", block[40:42])[0] <= 7:
            return _nifti1_fields(block, endian)
    swapped = struct.unpack(">i", block[:4])[0] == NIFTI1_HEADER_BYTES
    return _nifti1_fields(block, ">" if swapped else "<")


def declared_header(block: bytes) -> DeclaredHeader | None:
    """The declared fields from the start of a NIfTI-1 or NIfTI-2 file, in either byte order; None when the
    block starts with neither header size nor NIfTI-1's magic (then it is no NIfTI, or a damaged one: the
    reader says which)."""
    if len(block) < 4:
        return None
    if (by_magic := _nifti1_by_magic(block)) is not None:
        return by_magic
    for endian in "<>":
        header_bytes = struct.unpack(f"{endian}i", block[:4])[0]
        if header_bytes == NIFTI1_HEADER_BYTES and len(block) >= NIFTI1_HEADER_BYTES:  # int16 dims
            return _nifti1_fields(block, endian)
        if header_bytes == NIFTI2_HEADER_BYTES and len(block) >= NIFTI2_HEADER_BYTES:  # int64 dims
            bits = struct.unpack(f"{endian}h", block[14:16])[0]
            dim = struct.unpack(f"{endian}8q", block[16:80])
            offset = float(struct.unpack(f"{endian}q", block[168:176])[0])
        else:
            continue
        return DeclaredHeader(
            header_bytes=header_bytes, dim=tuple(int(d) for d in dim), bits=int(bits), vox_offset=offset
        )
    return None


def read_declared_header(path: Path) -> DeclaredHeader | None:
    """`declared_header` of a .nii or .nii.gz file (by its name); None when it cannot be read (the reader's
    own error then names the problem)."""
    try:
        with gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb") as handle:
            return declared_header(handle.read(NIFTI2_HEADER_BYTES))
    except (OSError, EOFError, zlib.error):
        return None
