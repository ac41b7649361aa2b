"""Malformed NIfTI headers: every one either reads as a finite, well-shaped volume or is refused with an
InputError naming the file, at the gateway's door (admission) and in the reader; never a library's exception
(which the gateway would answer with a 500), never a hang, never an allocation the header talked it into."""

from __future__ import annotations

import contextlib
import gzip
import logging
import random
import resource
import signal
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import nibabel as nib
import numpy as np
import pytest

from services.gateway.admission import check_cost
from shared.errors import InputError, InvalidVolumeError, UnreadableVolumeError
from shared.io import ReadLimits, read_volume
from shared.io.formats import NIFTI
from shared.settings import Settings
from shared.volume import Volume

LIMITS = ReadLimits(
    max_file_bytes=1 << 24, max_voxels=1 << 20, max_zip_members=10, max_zip_uncompressed_bytes=1 << 24
)
SETTINGS = Settings(MAX_FILE_BYTES=1 << 24, MAX_VOXELS=1 << 20, MAX_DECODED_BYTES=1 << 24)


def _header_bytes(image: nib.Nifti1Image | nib.Nifti2Image) -> bytes:
    """An image as the bytes of a single .nii file."""
    return image.to_bytes()


def _with_field(content: bytes, offset: int, fmt: str, value: object) -> bytes:
    """`content` with one header field (struct format `fmt`, little-endian unless it says '>') set to `value`."""
    data = bytearray(content)
    fmt = fmt if fmt.startswith(">") else f"<{fmt}"
    data[offset : offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    return bytes(data)


@pytest.fixture(scope="module")
def slab(small_mni_volume: Volume) -> np.ndarray:
    """A 16x16x12 (X, Y, Z) downsampled slab of the MNI152 template: real anatomy, 3,072 voxels."""
    return np.ascontiguousarray(small_mni_volume.data[::4, ::4, ::4].transpose(2, 1, 0))


@pytest.fixture(scope="module")
def seeds(slab: np.ndarray) -> dict[str, bytes]:
    """The corpus' seed files, as .nii bytes: the layouts a reader meets (NIfTI-1 little and big endian, NIfTI-2,
    a 4D series), stored as int16 with a scaling, float32 and uint8."""
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = (-30.0, -40.0, -20.0)
    stored = np.rint(slab * 3000).astype(np.int16)
    scaled = nib.Nifti1Image(stored, affine)
    scaled.header.set_slope_inter(0.5, 10.0)
    scaled.header.set_qform(affine, code=1)
    scaled.header.set_sform(affine, code=2)
    big_endian = nib.Nifti1Image(slab.astype(np.float32), affine, nib.Nifti1Header(endianness=">"))
    series = nib.Nifti1Image(np.stack([stored, stored // 2], axis=-1).astype(np.uint8), affine)
    return {
        "nifti1": _header_bytes(scaled),
        "nifti1_big_endian": _header_bytes(big_endian),
        "nifti2": _header_bytes(nib.Nifti2Image(stored, affine)),
        "nifti1_4d": _header_bytes(series),
    }


# Fields a reader interprets: (byte offset, struct format). NIfTI-1 (348-byte header), then NIfTI-2 (540).
NIFTI1_FIELDS = {
    "sizeof_hdr": (0, "i"),
    "dim_info": (39, "B"),
    **{f"dim[{k}]": (40 + 2 * k, "h") for k in range(8)},
    "intent_code": (68, "h"),
    "datatype": (70, "h"),
    "bitpix": (72, "h"),
    **{f"pixdim[{k}]": (76 + 4 * k, "f") for k in range(5)},
    "vox_offset": (108, "f"),
    "scl_slope": (112, "f"),
    "scl_inter": (116, "f"),
    "xyzt_units": (123, "B"),
    "qform_code": (252, "h"),
    "sform_code": (254, "h"),
    **{
        name: (256 + 4 * k, "f")
        for k, name in enumerate(("quatern_b", "quatern_c", "quatern_d", "qoffset_x"))
    },
    **{f"srow[{k}]": (280 + 4 * k, "f") for k in range(12)},
    "magic": (344, "4s"),
    "extension": (348, "4s"),
}
NIFTI2_FIELDS = {
    "sizeof_hdr": (0, "i"),
    "magic": (4, "8s"),
    "datatype": (12, "h"),
    "bitpix": (14, "h"),
    **{f"dim[{k}]": (16 + 8 * k, "q") for k in range(8)},
    **{f"pixdim[{k}]": (104 + 8 * k, "d") for k in range(4)},
    "vox_offset": (168, "q"),
    "scl_slope": (176, "d"),
    "scl_inter": (184, "d"),
    "qform_code": (344, "i"),
    "sform_code": (348, "i"),
    **{f"srow[{k}]": (400 + 8 * k, "d") for k in range(12)},
}
INTEGERS = [0, 1, -1, 2, 3, 4, 5, 7, 8, 16, 255, 256, 4096, 32767, -32768]
WIDE_INTEGERS = [2**31 - 1, 2**40, -(2**40), 2**62]  # only for 8-byte fields
FLOATS = [0.0, -1.0, 1.0, 1e-30, 1e30, 3.4e38, float("nan"), float("inf"), float("-inf"), 351.0, 352.0, 1e9]
DATATYPES = [0, 1, 2, 3, 4, 8, 16, 32, 64, 128, 255, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304, 9999]
MAGICS = [b"n+1\0", b"ni1\0", b"n+2\0", b"xxxx", b"\0\0\0\0"]


def _field_value(field: str, fmt: str, rng: random.Random) -> object:
    """A hostile value for one field: a boundary, a special float, another data type code, random bytes."""
    if fmt.endswith("s"):
        return rng.choice(MAGICS) if fmt == "4s" else rng.randbytes(struct.calcsize(fmt))
    if fmt in "fd":
        return rng.choice(FLOATS)
    if field == "datatype":
        return rng.choice(DATATYPES)
    if fmt == "B":
        return rng.randrange(256)
    value = rng.choice(INTEGERS + (WIDE_INTEGERS if fmt == "q" else []))
    return value if fmt != "h" or -(2**15) <= value < 2**15 else 0


def _mutate(seed: str, content: bytes, rng: random.Random) -> tuple[str, bytes]:
    """(description, bytes): one to three mutations of a seed's header, sometimes cut short: a single byte, a
    2-, 4- or 8-byte run of random bytes, or one field set to a hostile value."""
    data = bytearray(content)
    endian = ">" if seed == "nifti1_big_endian" else "<"
    fields, header = (NIFTI2_FIELDS, 540) if seed == "nifti2" else (NIFTI1_FIELDS, 348)
    done: list[str] = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        kind = rng.random()
        if kind < 0.3:
            position, value = (
                rng.randrange(header + 4),
                rng.choice([0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)]),
            )
            data[position] = value
            done.append(f"byte {position} = {value:#04x}")
        elif kind < 0.45:
            size = rng.choice([2, 4, 8])
            position = rng.randrange(header + 4 - size)
            data[position : position + size] = rng.randbytes(size)
            done.append(f"{size} random bytes at {position}")
        else:
            field = rng.choice(sorted(fields))
            offset, fmt = fields[field]
            value = _field_value(field, fmt, rng)
            data[offset : offset + struct.calcsize(fmt)] = struct.pack(endian + fmt, value)
            done.append(f"{field} = {value!r}")
    if rng.random() < 0.1:
        cut = rng.randrange(len(data))
        del data[cut:]
        done.append(f"cut at {cut}")
    return f"{seed}: {', '.join(done)}", bytes(data)


MUTANTS = 1500
SEED = 20261214
SECONDS_PER_MUTANT = 10  # a mutant reads in about 10 ms; a hang is stopped here and reported
PEAK_GROWTH_BYTES = 256 << 20  # a mutant's header may not talk the reader into allocating more


class _Hang(Exception):
    """A mutant took longer than SECONDS_PER_MUTANT."""


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Raise _Hang in the block once `seconds` have passed (SIGALRM: the test runs in the main thread)."""

    def ring(_signum: int, _frame: FrameType | None) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _peak_rss_bytes() -> int:
    """The process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _check_read(path: Path, name: str) -> tuple[bool, str | None]:
    """(whether it read, None or what went wrong): `path` must read as a finite, well-shaped volume within the
    limits or be refused with an InputError naming the file."""
    try:
        volume = read_volume(path, limits=LIMITS)
    except InputError as exc:
        named = str(exc).startswith(f"{name}: ")
        return False, None if named else f"read: message does not name the file: {exc}"
    except Exception as exc:  # the property under test: nothing else may escape
        return False, f"read raised {type(exc).__name__}: {exc}"
    data = volume.data
    if data.ndim not in (3, 4) or 0 in data.shape or data.size > LIMITS.max_voxels:
        return True, f"read a volume of shape {data.shape}"
    if data.dtype != np.float32 or not np.isfinite(data).all():
        return True, f"read {data.dtype} voxels, not all finite"
    return True, None


def _check_admission(path: Path, name: str) -> str | None:
    """None when the gateway's header check passes the file or refuses it with an InputError naming it."""
    try:
        check_cost(path, NIFTI, SETTINGS, name)
    except InputError as exc:
        return (
            None if str(exc).startswith(f"{name}: ") else f"admission: message does not name the file: {exc}"
        )
    except Exception as exc:  # the property under test
        return f"admission raised {type(exc).__name__}: {exc}"
    return None


def test_seeded_header_mutations_either_read_or_raise_an_input_error(
    seeds: dict[str, bytes], tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """1,500 mutated headers of real NIfTI files (fixed seed), half of them gzipped and one gzipped file in
    ten with its compressed stream damaged too: each passes or is refused by the gateway's header check, and
    reads or is refused by the reader, with an InputError that names the file; none hangs or allocates what
    its header claims past the limits."""
    caplog.set_level(logging.CRITICAL, logger="nibabel")  # nibabel logs each header field it repairs
    rng = random.Random(SEED)
    names = sorted(seeds)
    escaped: list[str] = []
    read = 0
    peak_before = _peak_rss_bytes()
    with warnings.catch_warnings():
        # nibabel and numpy warn about the values they meet; that is the point
        warnings.simplefilter("ignore")
        for _ in range(MUTANTS):
            what, content = _mutate(name := rng.choice(names), seeds[name], rng)
            compressed = rng.random() < 0.5
            file_name = "mutant.nii.gz" if compressed else "mutant.nii"
            if compressed:
                content = gzip.compress(content, mtime=0)
                if rng.random() < 0.1:
                    position = rng.randrange(10, len(content))
                    content = content[:position] + bytes([rng.randrange(256)]) + content[position + 1 :]
                    what += f", compressed byte {position}"
            path = tmp_path / file_name
            path.unlink(missing_ok=True)  # a new file each time: ext4 flushes a file rewritten in place
            path.write_bytes(content)
            try:
                with _deadline(SECONDS_PER_MUTANT):
                    admitted = _check_admission(path, file_name)
                    was_read, problem = _check_read(path, file_name)
            except _Hang:
                admitted, was_read, problem = None, False, f"took over {SECONDS_PER_MUTANT} s"
            escaped += [f"{file_name} ({what}): {p}" for p in (admitted, problem) if p is not None]
            read += was_read
    assert escaped == []
    assert _peak_rss_bytes() - peak_before < PEAK_GROWTH_BYTES
    assert MUTANTS // 4 < read < MUTANTS * 9 // 10  # the corpus exercises both outcomes


def _rgb(slab: np.ndarray) -> bytes:
    """The slab as an RGB colour NIfTI (data type 128), as a screenshot converter would write it."""
    grey = np.rint(slab * 255).astype(np.uint8)
    rgb = np.zeros(grey.shape, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    rgb["R"], rgb["G"], rgb["B"] = grey, grey, grey
    return _header_bytes(nib.Nifti1Image(rgb, np.eye(4)))


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda seeds, _slab: _with_field(seeds["nifti1"], 108, "f", float("inf")),
            UnreadableVolumeError,
            "bad.nii: the header's vox_offset is inf, not the byte offset of the voxels",
        ),
        (
            lambda seeds, _slab: _with_field(seeds["nifti1"], 108, "f", float("-inf")),
            UnreadableVolumeError,
            "bad.nii: the header's vox_offset is -inf, not the byte offset of the voxels",
        ),
        (
            lambda seeds, _slab: _with_field(
                _with_field(seeds["nifti1"], 0, "i", 540), 108, "f", float("inf")
            ),
            UnreadableVolumeError,
            "bad.nii: the header's vox_offset is inf, not the byte offset of the voxels",
        ),
        (
            lambda seeds, _slab: _with_field(
                _with_field(seeds["nifti1_big_endian"], 0, ">i", 540), 108, ">f", float("nan")
            ),
            UnreadableVolumeError,
            "bad.nii: the header's vox_offset is nan, not the byte offset of the voxels",
        ),
        (
            lambda seeds, _slab: _with_field(_with_field(seeds["nifti2"], 24, "q", -1), 40, "q", 2**62),
            UnreadableVolumeError,
            f"bad.nii: the header declares a negative dimension (shape (-1, 16, {2**62}))",
        ),
        (
            lambda _seeds, slab: _rgb(slab),
            InvalidVolumeError,
            "bad.nii: the voxels are not single numbers (NIfTI data type 128, e.g. RGB colour); only grey-level "
            "images can be denoised",
        ),
        (
            lambda _seeds, slab: _header_bytes(
                nib.Nifti1Image(slab.astype(np.complex64) * (1 + 1j), np.eye(4))
            ),
            InvalidVolumeError,
            "bad.nii: the voxels are complex numbers (NIfTI data type 32); denoise a real-valued image, such as "
            "the magnitude",
        ),
    ],
    ids=[
        "vox_offset inf",
        "vox_offset -inf",
        "sizeof_hdr 540, vox_offset inf",
        "big-endian, sizeof_hdr 540, vox_offset nan",
        "negative NIfTI-2 dimension",
        "RGB",
        "complex",
    ],
)
def test_headers_the_corpus_caught_are_refused_by_name(
    make: object,
    error: type[InputError],
    message: str,
    seeds: dict[str, bytes],
    slab: np.ndarray,
    tmp_path: Path,
):
    """What escaped as OverflowError or DTypePromotionError (a 500 over HTTP), or silently lost the imaginary
    part, is refused with what is wrong; the gateway's header check leaves these to the reader, without
    raising."""
    path = tmp_path / "bad.nii"
    path.write_bytes(make(seeds, slab))  # type: ignore[operator]
    check_cost(path, NIFTI, SETTINGS, "bad.nii")
    with pytest.raises(error) as caught:
        read_volume(path, limits=LIMITS)
    assert str(caught.value) == message
