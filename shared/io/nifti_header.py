"""The few fields of a NIfTI-1 or NIfTI-2 header that say where the voxels are and how many there are, parsed
with `struct` from a file's first bytes, trusting nothing.

Two callers judge a file by them before nibabel reads it: the reader (shared/io/nifti.py), because nibabel's
own header checks fail with bare exceptions on some values (an infinite vox_offset), and the gateway's door
(services/gateway/admission.py), which must know a file's cost before any reader allocates what the header
declares (nibabel would allocate a promised 1 GB before finding the data missing). The gateway does import
nibabel: it reads every accepted upload with shared/io after this check.
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


def declared_header(block: bytes) -> DeclaredHeader | None:
    """The declared fields from the start of a NIfTI-1 or NIfTI-2 file, in either byte order; None when the
    block starts with neither header size (then it is no NIfTI, or a damaged one: the reader says which)."""
    if len(block) < 4:
        return None
    for endian in "<>":
        header_bytes = struct.unpack(f"{endian}i", block[:4])[0]
        if header_bytes == NIFTI1_HEADER_BYTES and len(block) >= NIFTI1_HEADER_BYTES:  # int16 dims
            dim = struct.unpack(f"{endian}8h", block[40:56])
            bits = struct.unpack(f"{endian}h", block[72:74])[0]
            offset = float(struct.unpack(f"{endian}f", block[108:112])[0])
        elif header_bytes == NIFTI2_HEADER_BYTES and len(block) >= NIFTI2_HEADER_BYTES:  # int64 dims
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
