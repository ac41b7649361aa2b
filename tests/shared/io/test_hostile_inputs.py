"""Hostile and broken inputs: each refused with its own error class and message, nothing left behind."""

from __future__ import annotations

import gzip
import shutil
import struct
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from io_helpers import make_zip, pydicom_file

from shared.errors import (
    EmptyVolumeError,
    NonFiniteVoxelsError,
    TooLargeError,
    UnreadableVolumeError,
    UnsafeArchiveError,
)
from shared.io import ReadLimits, read_volume

GENEROUS = ReadLimits(
    max_file_bytes=1 << 30, max_voxels=1 << 28, max_zip_members=100, max_zip_uncompressed_bytes=1 << 28
)


def limits(**changes: int) -> ReadLimits:
    """Generous limits with some tightened."""
    return ReadLimits(**{**GENEROUS.__dict__, **changes})


def _never_open(*args: object, **kwargs: object) -> None:
    raise AssertionError("a member was extracted although the central directory already broke a limit")


@pytest.mark.parametrize("member", ["../evil.dcm", "a/../../evil.dcm", "/etc/evil.dcm", "C:/evil.dcm"])
def test_zip_slip_is_refused(tmp_path: Path, private_tempdir: Path, member: str):
    """A member with an absolute path or '..' is refused before anything is extracted."""
    path = make_zip(tmp_path / "slip.zip", {"ok.dcm": b"x", member: b"payload"})
    with pytest.raises(UnsafeArchiveError) as caught:
        read_volume(path)
    assert str(caught.value) == f"slip.zip: unsafe member path '{member}' (absolute or containing '..')"
    assert list(private_tempdir.iterdir()) == []
    assert not (tmp_path / "evil.dcm").exists()


def test_too_many_members_are_refused_before_extracting(
    tmp_path: Path, private_tempdir: Path, monkeypatch: pytest.MonkeyPatch
):
    """More members than allowed is refused from the central directory alone."""
    path = make_zip(tmp_path / "many.zip", {f"{k}.dcm": b"x" for k in range(5)})
    monkeypatch.setattr(zipfile.ZipFile, "open", _never_open)
    with pytest.raises(UnsafeArchiveError) as caught:
        read_volume(path, limits=limits(max_zip_members=3))
    assert str(caught.value) == "many.zip: the archive holds 5 members, over the limit of 3"
    assert list(private_tempdir.iterdir()) == []


def test_zip_bomb_is_refused_before_extracting(
    tmp_path: Path, private_tempdir: Path, monkeypatch: pytest.MonkeyPatch
):
    """A small zip that would expand past the byte limit is refused from the central directory alone."""
    path = make_zip(tmp_path / "bomb.zip", {"a.dcm": bytes(3_000_000), "b.dcm": bytes(3_000_000)})
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(zipfile.ZipFile, "open", _never_open)
    with pytest.raises(UnsafeArchiveError) as caught:
        read_volume(path, limits=limits(max_zip_uncompressed_bytes=5_000_000))
    assert (
        str(caught.value) == "bomb.zip: the archive expands to 6000000 bytes, over the limit of 5000000 bytes"
    )
    assert list(private_tempdir.iterdir()) == []


def _lie_about_sizes(path: Path, declared: int) -> None:
    """Rewrite every local and central header to declare `declared` uncompressed bytes."""
    content = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = content.find(signature)
        while start != -1:
            content[start + offset : start + offset + 4] = struct.pack("<I", declared)
            start = content.find(signature, start + 4)
    path.write_bytes(bytes(content))


def test_headers_that_lie_about_sizes_are_caught_while_extracting(tmp_path: Path, private_tempdir: Path):
    """A member declaring fewer bytes than it holds passes the directory check but fails extraction."""
    path = make_zip(tmp_path / "liar.zip", {"a.dcm": bytes(2_000_000)})
    _lie_about_sizes(path, 1000)
    with pytest.raises(UnsafeArchiveError) as caught:
        read_volume(path, limits=limits(max_zip_uncompressed_bytes=10_000))
    assert str(caught.value).startswith("liar.zip: a member does not match its declared size or checksum (")
    assert list(private_tempdir.iterdir()) == []


def _zip_with_padding(path: Path, padding: int) -> Path:
    """A zip of one real DICOM file and a member of `padding` zero bytes, streamed into the archive 1 MiB at a
    time: the zip on disk is about a thousandth of `padding`, and nothing of that size is ever written."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(pydicom_file("MR_small.dcm"), "series/IM0001")
        with archive.open("series/padding.bin", "w") as member:
            for start in range(0, padding, 1 << 20):
                member.write(bytes(min(1 << 20, padding - start)))
    return path


def test_a_member_with_an_absurd_compression_ratio_is_refused_before_extracting(
    tmp_path: Path, private_tempdir: Path, monkeypatch: pytest.MonkeyPatch
):
    """One real DICOM file beside 50 MB of zeros (about 1000:1): under the archive's byte limit, yet refused
    from the central directory, naming the member, before a byte is extracted."""
    path = _zip_with_padding(tmp_path / "padded.zip", 50_000_000)
    assert path.stat().st_size < 200_000
    monkeypatch.setattr(zipfile.ZipFile, "open", _never_open)
    with pytest.raises(UnsafeArchiveError) as caught:
        read_volume(path, limits=limits(max_zip_uncompressed_bytes=1 << 30))
    compressed = zipfile.ZipFile(path).getinfo("series/padding.bin").compress_size
    assert str(caught.value) == (
        f"padded.zip: member 'series/padding.bin' declares 50000000 bytes compressed into {compressed} "
        f"({50_000_000 / compressed:.0f}:1), over the limit of 100:1 for members over 1048576 bytes; no medical "
        "image compresses that well"
    )
    assert list(private_tempdir.iterdir()) == []


def test_many_small_compressible_members_are_refused_before_extracting(
    tmp_path: Path, private_tempdir: Path, monkeypatch: pytest.MonkeyPatch
):
    """400 members of 40 KB of zeros, each under the per-member floor, under the member and byte limits: the
    archive as a whole expands far past 100 times its size, so it is refused from the central directory."""
    path = make_zip(tmp_path / "small.zip", {f"IM{k:04d}": bytes(40_000) for k in range(400)})
    size = path.stat().st_size
    assert 100 * size < 16_000_000
    monkeypatch.setattr(zipfile.ZipFile, "open", _never_open)
    with pytest.raises(UnsafeArchiveError) as caught:
        read_volume(path, limits=limits(max_zip_members=1000))
    assert str(caught.value) == (
        f"small.zip: the archive's 400 members expand to 16000000 bytes from a {size}-byte zip "
        f"({16_000_000 / size:.0f}:1), over the limit of 100:1; no medical image compresses that well"
    )
    assert list(private_tempdir.iterdir()) == []


def test_a_small_archive_is_not_judged_by_its_ratio(tmp_path: Path):
    """A DICOM file beside blank members, 1 MiB in all: whatever its ratio, its cost is bounded, so it reads."""
    dicom = pydicom_file("MR_small.dcm").read_bytes()
    blank = (1 << 20) - len(dicom)
    path = make_zip(tmp_path / "blank.zip", {"IM0001": dicom, "blank.bin": bytes(blank)})
    assert 100 * path.stat().st_size < (1 << 20)  # over 100:1, yet small
    assert read_volume(path).shape == (1, 64, 64)


def test_members_that_compress_like_images_are_extracted(tmp_path: Path):
    """The rule leaves real content alone: a 2 MB member of random bytes (1:1) beside a DICOM file reads, and
    so does a blank member under 1 MiB, whatever its ratio."""
    rng = np.random.default_rng(0)
    members = {"IM0001": pydicom_file("MR_small.dcm").read_bytes(), "noise.bin": rng.bytes(2_000_000)}
    members["blank.bin"] = bytes(1 << 20)
    volume = read_volume(make_zip(tmp_path / "fine.zip", members))
    assert volume.shape == (1, 64, 64)


def test_zip_without_dicom_is_unreadable(tmp_path: Path, private_tempdir: Path):
    """A zip of non-DICOM files is refused, and its extracted files are removed."""
    path = make_zip(tmp_path / "notes.zip", {"README.txt": b"hello", "img/photo.jpg": b"\xff\xd8\xff"})
    with pytest.raises(UnreadableVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == "notes.zip: the archive holds no DICOM images"
    assert list(private_tempdir.iterdir()) == []


def test_directory_without_dicom_is_unreadable(tmp_path: Path):
    """A directory without DICOM images is refused."""
    (tmp_path / "scans").mkdir()
    (tmp_path / "scans" / "notes.txt").write_text("hello")
    with pytest.raises(UnreadableVolumeError) as caught:
        read_volume(tmp_path / "scans")
    assert str(caught.value) == "scans: the directory holds no DICOM images"


def test_failed_dicom_read_leaves_temp_dir_empty(shuffled_series_zip: Path, private_tempdir: Path):
    """Even when decoding fails after extraction, the extracted members are removed."""
    with pytest.raises(TooLargeError):
        read_volume(shuffled_series_zip, limits=limits(max_voxels=1000))
    read_volume(shuffled_series_zip)
    assert list(private_tempdir.iterdir()) == []


@pytest.fixture
def each_format(tmp_path: Path, mni_nifti_path: Path, shuffled_series_zip: Path) -> dict[str, Path]:
    """One real file per format."""
    npy = tmp_path / "volume.npy"
    np.save(npy, np.ones((4, 8, 8), dtype=np.float32))
    return {
        "nifti": mni_nifti_path,
        "zip": shuffled_series_zip,
        "dcm": pydicom_file("MR_small.dcm"),
        "npy": npy,
    }


@pytest.mark.parametrize("fmt", ["nifti", "zip", "dcm", "npy"])
def test_files_over_the_byte_limit_are_refused(each_format: dict[str, Path], fmt: str):
    """A file larger than max_file_bytes is refused before it is parsed."""
    path = each_format[fmt]
    with pytest.raises(TooLargeError) as caught:
        read_volume(path, limits=limits(max_file_bytes=100), name="upload")
    assert (
        str(caught.value) == f"upload: the file is {path.stat().st_size} bytes, over the limit of 100 bytes"
    )


def test_directory_files_over_the_byte_limit_are_refused(tmp_path: Path):
    """Each file of a DICOM directory is held to max_file_bytes too."""
    folder = tmp_path / "series"
    folder.mkdir()
    shutil.copy(pydicom_file("MR_small.dcm"), folder / "1.dcm")
    size = (folder / "1.dcm").stat().st_size
    with pytest.raises(TooLargeError) as caught:
        read_volume(folder, limits=limits(max_file_bytes=100))
    assert str(caught.value) == f"series: 1.dcm: the file is {size} bytes, over the limit of 100 bytes"


def test_nifti_voxel_limit_is_checked_from_the_header(mni_nifti_path: Path, tmp_path: Path):
    """Too many voxels is refused from the header: a file cut after its header still says TooLarge."""
    header_only = tmp_path / "header_only.nii"
    with gzip.open(mni_nifti_path) as source:
        header_only.write_bytes(source.read(352))
    with pytest.raises(TooLargeError) as caught:
        read_volume(header_only, limits=limits(max_voxels=1000))
    assert str(caught.value) == (
        "header_only.nii: the volume has 8675289 voxels (shape (197, 233, 189)), over the limit of 1000"
    )


def test_dicom_voxel_limit_is_checked_before_decoding():
    """A DICOM file whose pixel data is truncated is still refused as too large, from its header."""
    with pytest.raises(TooLargeError) as caught:
        read_volume(pydicom_file("MR_truncated.dcm"), limits=limits(max_voxels=100))
    assert str(caught.value) == (
        "MR_truncated.dcm: the volume has 4096 voxels (shape (1, 64, 64)), over the limit of 100"
    )


def test_npy_voxel_limit_is_checked_from_the_header(tmp_path: Path):
    """An .npy header announcing a huge array is refused before its data is read."""
    path = tmp_path / "huge.npy"
    np.save(path, np.zeros((10, 10, 10), dtype=np.float32))
    content = path.read_bytes().replace(b"(10, 10, 10)", b"(10000, 10000, 10)")
    path.write_bytes(content[:200])
    with pytest.raises(TooLargeError) as caught:
        read_volume(path, limits=limits(max_voxels=10_000))
    assert str(caught.value) == (
        "huge.npy: the volume has 1000000000 voxels (shape (10000, 10000, 10)), over the limit of 10000"
    )


def test_series_voxel_limit(shuffled_series_zip: Path):
    """A series is counted as slices x rows x columns."""
    with pytest.raises(TooLargeError) as caught:
        read_volume(shuffled_series_zip, limits=limits(max_voxels=1000))
    assert str(caught.value) == (
        "upload.zip: the volume has 65536 voxels (shape (16, 64, 64)), over the limit of 1000"
    )


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz", ".dcm", ".zip", ".npy"])
def test_random_bytes_are_unreadable(tmp_path: Path, private_tempdir: Path, suffix: str):
    """Random bytes under a supported extension: UnreadableVolumeError naming the upload, not the path."""
    stored = tmp_path / f"7c1e{suffix}"
    stored.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(UnreadableVolumeError) as caught:
        read_volume(stored, name=f"scan{suffix}")
    message = str(caught.value)
    assert message.startswith(f"scan{suffix}: ")
    assert str(tmp_path) not in message and "7c1e" not in message
    assert list(private_tempdir.iterdir()) == []


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        (".dcm", "scan.dcm: not a DICOM image file"),
        (".zip", "scan.zip: not a readable zip archive (File is not a zip file)"),
    ],
)
def test_random_bytes_messages(tmp_path: Path, suffix: str, expected: str):
    """Random bytes with .dcm / .zip have exact, library-independent messages."""
    stored = tmp_path / f"blob{suffix}"
    stored.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(UnreadableVolumeError) as caught:
        read_volume(stored, name=f"scan{suffix}")
    assert str(caught.value) == expected


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz", ".npy", ".zip", ".dcm"])
def test_truncated_files_are_unreadable(
    tmp_path: Path, mni_nifti_path: Path, shuffled_series_zip: Path, suffix: str
):
    """A real file of each format cut in half is refused as unreadable, naming the file."""
    whole = tmp_path / f"whole{suffix}"
    if suffix == ".nii":
        nib.save(nib.load(mni_nifti_path), whole)
    elif suffix == ".npy":
        np.save(whole, np.ones((8, 16, 16), dtype=np.float32))
    else:
        source = {
            ".nii.gz": mni_nifti_path,
            ".zip": shuffled_series_zip,
            ".dcm": pydicom_file("MR_small.dcm"),
        }
        shutil.copy(source[suffix], whole)
    content = whole.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(content[: len(content) // 2])
    with pytest.raises(UnreadableVolumeError) as caught:
        read_volume(cut)
    assert str(caught.value).startswith(f"cut{suffix}: ")


def test_nan_voxels_in_nifti_are_refused(tmp_path: Path):
    """NaN / Inf voxels are counted and refused."""
    data = np.ones((6, 5, 4), dtype=np.float32)
    data[1, 1, 1] = np.nan
    path = tmp_path / "nan.nii.gz"
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    with pytest.raises(NonFiniteVoxelsError) as caught:
        read_volume(path)
    assert str(caught.value) == "nan.nii.gz: 1 voxel(s) are NaN or infinite"


def test_zero_size_nifti_is_refused(tmp_path: Path):
    """A NIfTI with a zero-length dimension has no voxels."""
    path = tmp_path / "empty.nii"
    nib.save(nib.Nifti1Image(np.zeros((0, 4, 4), dtype=np.float32), np.eye(4)), path)
    with pytest.raises(EmptyVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == "empty.nii: the volume has no voxels (shape (4, 4, 0))"
