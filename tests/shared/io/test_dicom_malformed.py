"""Malformed DICOM: every way a file can be broken is an InputError naming the file (the member, in a zip)
and the problem, never a library's exception (which the gateway would answer with a 500)."""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from io_helpers import make_zip, nicom_file, pydicom_file
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag

from shared.errors import InputError, UnreadableVolumeError
from shared.io import read_volume, write_volume

MR_SMALL = pydicom_file("MR_small.dcm")


def _with_raw(keyword: str, vr: str, value: bytes, path: Path) -> Path:
    """MR_small.dcm with one element's value replaced by raw bytes, as a damaged file would hold them."""
    ds = pydicom.dcmread(MR_SMALL)
    tag = Tag(keyword)
    ds[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _with_bytes(offset_of: bytes, patch: Iterator[tuple[int, bytes]], path: Path) -> Path:
    """MR_small.dcm with bytes patched at offsets relative to where `offset_of` first occurs."""
    content = bytearray(MR_SMALL.read_bytes())
    start = content.index(offset_of)
    for offset, replacement in patch:
        content[start + offset : start + offset + len(replacement)] = replacement
    path.write_bytes(bytes(content))
    return path


MODALITY = b"\x08\x00\x60\x00CS"  # (0008,0060) Modality, explicit VR CS, in MR_small.dcm's data set


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda p: _with_raw("SliceThickness", "DS", b"1\\2 ", p),
            "bad.dcm: SliceThickness has 2 values ('1\\2'); one number is expected",
        ),
        (lambda p: _with_raw("RescaleSlope", "DS", b"ab", p), "bad.dcm: RescaleSlope is not a number ('ab')"),
        (
            lambda p: _with_raw("RescaleSlope", "DS", b"1\\2 ", p),
            "bad.dcm: RescaleSlope has 2 values ('1\\2'); one number is expected",
        ),
        (
            lambda p: _with_raw("SamplesPerPixel", "US", b"\x01\x00\x01\x00", p),
            "bad.dcm: SamplesPerPixel has 2 values ('1\\1'); one number is expected",
        ),
        (
            lambda p: _with_raw("PixelSpacing", "DS", b"0.3125\\ ", p),
            "bad.dcm: PixelSpacing has an empty value ('0.3125\\')",
        ),
        (
            lambda p: _with_raw("ImagePositionPatient", "DS", b"1\\2 ", p),
            "bad.dcm: ImagePositionPatient has 2 values ('1\\2'); 3 numbers are expected",
        ),
        (
            lambda p: _with_raw("Rows", "US", b"\x40\x00\x00", p),
            "bad.dcm: attribute (0028,0010) Rows cannot be read "
            "(Expected total bytes to be an even multiple of bytes per value.)",
        ),
        (
            lambda p: _with_bytes(MODALITY, iter([(4, b"ZZ")]), p),
            "bad.dcm: attribute (0008,0060) Modality cannot be read "
            "(Unknown Value Representation 'ZZ' in tag (0008,0060))",
        ),
    ],
    ids=[
        "two slice thicknesses",
        "slope ab",
        "two slopes",
        "two samples per pixel",
        "empty pixel spacing value",
        "short position",
        "wrong byte length",
        "unknown VR",
    ],
)
def test_malformed_values_name_the_attribute_and_the_problem(make: object, message: str, tmp_path: Path):
    """Values a reader interprets, when malformed, are refused with the attribute and what is wrong with it."""
    path = make(tmp_path / "bad.dcm")  # type: ignore[operator]
    with pytest.raises(UnreadableVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == message


def test_an_undecodable_private_attribute_is_left_out_with_a_warning(tmp_path: Path):
    """A vendor's private element that cannot be decoded does not cost the image: it is left out of the
    header (and so of any DICOM output), and the volume says so."""
    ds = pydicom.dcmread(MR_SMALL)
    ds.private_block(0x0011, "FETAL TEST", create=True).add_new(0x01, "LO", "vendor value")
    path = tmp_path / "private.dcm"
    ds.save_as(path, enforce_file_format=True)
    content = path.read_bytes()
    path.write_bytes(content.replace(b"\x11\x00\x01\x10LO", b"\x11\x00\x01\x10ZZ"))  # an unknown VR
    tag = Tag(0x0011, 0x1001)
    volume = read_volume(path)
    assert volume.source is not None and volume.source.warnings == (
        "1 private DICOM attribute(s) that could not be decoded were left out (the first: (0011,1001) in "
        "private.dcm); a DICOM output does not carry them.",
    )
    written = pydicom.dcmread(write_volume(volume, tmp_path / "out.dcm"))
    assert tag not in written and written.PatientName == ds.PatientName


def test_a_file_without_transfer_syntax_is_refused(tmp_path: Path):
    """A file meta without TransferSyntaxUID: the pixels cannot be decoded, and the message says why."""
    ds = pydicom.dcmread(MR_SMALL)
    del ds.file_meta.TransferSyntaxUID
    path = tmp_path / "no_syntax.dcm"
    pydicom.dcmwrite(path, ds, implicit_vr=False, little_endian=True)
    with pytest.raises(UnreadableVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == (
        "no_syntax.dcm: the file meta information has no TransferSyntaxUID, so its pixel data cannot be decoded"
    )


def test_a_malformed_member_of_a_zip_is_named(tmp_path: Path):
    """In a zip, the message names the upload and the member."""
    bad = _with_raw("RescaleSlope", "DS", b"ab", tmp_path / "bad.dcm")
    path = make_zip(tmp_path / "upload.zip", {"series/IM0003": bad.read_bytes()})
    with pytest.raises(UnreadableVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == "upload.zip: series/IM0003: RescaleSlope is not a number ('ab')"


# The seeded corpus: real files of each DICOM layout the reader knows (classic explicit / implicit / big
# endian, an Enhanced MR multi-frame file, a Siemens mosaic header with its CSA header).
SEEDS = ("MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "emri_small.dcm")
MUTATIONS = 2000
TRUNCATIONS = 200
HEADER_BYTES = 4000  # most mutations land in the header, where parsing happens; the rest anywhere
WRITE_EVERY = 10  # every tenth mutant that reads is also written back, as .dcm and .zip in turn


def _seed_files(folder: Path) -> list[Path]:
    """The corpus' seed files."""
    files = [pydicom_file(name) for name in SEEDS]
    return [f for f in files if f is not None] + [nicom_file("csa_slice_norm.dcm", folder)]


def _mutants(seeds: list[Path], rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """(description, bytes): single-byte mutations, then truncations, of the seed files."""
    contents = {seed.name: seed.read_bytes() for seed in seeds}
    names = sorted(contents)
    for _ in range(MUTATIONS):
        name = rng.choice(names)
        data = bytearray(contents[name])
        end = min(len(data), 128 + HEADER_BYTES) if rng.random() < 0.9 else len(data)
        position = rng.randrange(128, end)
        value = rng.choice([0x00, 0xFF, ord("\\"), ord("."), ord("-"), rng.randrange(256)])
        data[position] = value
        yield f"{name} byte {position} = {value:#04x}", bytes(data)
    for _ in range(TRUNCATIONS):
        name = rng.choice(names)
        cut = rng.randrange(0, len(contents[name]))
        yield f"{name} cut at {cut}", contents[name][:cut]


@pytest.mark.slow
def test_seeded_mutations_either_read_or_raise_an_input_error(tmp_path: Path):
    """2,000 single-byte mutations and 200 truncations of real DICOM files (fixed seed): each one reads (and,
    one in ten, writes back as DICOM) or is refused with an InputError whose message starts with the file name."""
    rng = random.Random(20261201)
    escaped: list[str] = []
    outcomes = {"read": 0, "refused": 0}
    path = tmp_path / "mutant.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about each invalid value it meets; that is the point
        for index, (what, content) in enumerate(_mutants(_seed_files(tmp_path), rng)):
            path.write_bytes(content)
            try:
                volume = read_volume(path)
            except InputError as exc:
                outcomes["refused"] += 1
                if not str(exc).startswith("mutant.dcm: "):
                    escaped.append(f"{what}: message does not name the file: {exc}")
                continue
            except Exception as exc:  # the property under test: nothing else may escape
                escaped.append(f"{what}: read raised {type(exc).__name__}: {exc}")
                continue
            outcomes["read"] += 1
            if outcomes["read"] % WRITE_EVERY == 0:
                suffix = (".dcm", ".zip")[outcomes["read"] // WRITE_EVERY % 2]
                try:
                    write_volume(volume, tmp_path / f"out{index}{suffix}").unlink()
                except InputError:
                    pass
                except Exception as exc:  # the property under test
                    escaped.append(f"{what}: writing {suffix} raised {type(exc).__name__}: {exc}")
    assert escaped == []
    assert outcomes["read"] > 200 and outcomes["refused"] > 200  # the corpus exercises both outcomes
