"""Every hostile or broken upload gets its 4xx at once: nothing is queued, nothing is left on disk."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag

from shared.settings import Settings
from shared.volume import Volume


def _zip(members: dict[str, bytes]) -> bytes:
    """A zip archive of `members`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _nifti(data: np.ndarray) -> bytes:
    """`data` as the bytes of an uncompressed .nii file."""
    return nib.Nifti1Image(data, np.eye(4)).to_bytes()


def _dicom_with_raw(keyword: str, vr: str, value: bytes) -> bytes:
    """pydicom's MR_small.dcm with one element's value replaced by raw bytes, as a damaged file holds them."""
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    tag = Tag(keyword)
    ds[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _rgb_nifti(grey: np.ndarray) -> bytes:
    """`grey` (0-1) as an RGB colour .nii (NIfTI data type 128)."""
    rgb = np.zeros(grey.shape, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    rgb["R"] = rgb["G"] = rgb["B"] = np.rint(grey * 255).astype(np.uint8)
    return _nifti(rgb)


@pytest.fixture(scope="module")
def hostile(small_mni_volume: Volume) -> dict[str, tuple[str, bytes, int, str]]:
    """Name -> (upload file name, content, expected status, expected detail or its prefix + '...')."""
    good = _nifti(small_mni_volume.data.transpose(2, 1, 0))
    nan = small_mni_volume.data.copy()
    nan[3, 4, 5] = np.nan
    npy = io.BytesIO()
    np.save(npy, nan)
    vectors = np.stack([small_mni_volume.data.transpose(2, 1, 0)] * 2, axis=-1)[..., None, :]  # 5D
    rng = np.random.default_rng(0)
    infinite_offset = bytearray(good)
    infinite_offset[108:112] = struct.pack("<f", float("inf"))  # vox_offset
    # NIfTI-1 (by its magic, as nibabel reads it) whose sizeof_hdr claims NIfTI-2's 540: was a 500
    posing_as_nifti2 = bytearray(infinite_offset)
    posing_as_nifti2[0:4] = struct.pack("<i", 540)
    return {
        "malformed DICOM value": (
            "bad.dcm",
            _dicom_with_raw("RescaleSlope", "DS", b"ab"),
            422,
            "bad.dcm: RescaleSlope is not a number ('ab')",
        ),
        "malformed DICOM in a zip": (
            "series.zip",
            _zip({"scan/IM0001": _dicom_with_raw("SliceThickness", "DS", b"1\\2 ")}),
            422,
            "series.zip: scan/IM0001: SliceThickness has 2 values ('1\\2'); one number is expected",
        ),
        "infinite vox_offset": (
            "offset.nii",
            bytes(infinite_offset),
            422,
            "offset.nii: the header's vox_offset is inf, not the byte offset of the voxels",
        ),
        "infinite vox_offset, sizeof_hdr 540": (
            "offset540.nii",
            bytes(posing_as_nifti2),
            422,
            "offset540.nii: the header's vox_offset is inf, not the byte offset of the voxels",
        ),
        "RGB": (
            "colour.nii",
            _rgb_nifti(small_mni_volume.data[::4, ::4, ::4].transpose(2, 1, 0)),
            422,
            "colour.nii: the voxels are not single numbers (NIfTI data type 128, e.g. RGB colour); only "
            "grey-level images can be denoised",
        ),
        "zip slip": (
            "slip.zip",
            _zip({"../../etc/evil.dcm": b"DICM"}),
            422,
            "slip.zip: unsafe member path '../../etc/evil.dcm' (absolute or containing '..')",
        ),
        "zip bomb": (
            "bomb.zip",
            _zip({"zeros.dcm": bytes(3_000_000)}),
            422,
            "bomb.zip: the archive expands to 3000000 bytes, over the limit of 1000000 bytes",
        ),
        "truncated": (
            "cut.nii",
            good[: len(good) // 3],
            422,
            f"cut.nii: truncated: the header declares {64 * 64 * 48 * 4} bytes of voxels, the file holds "
            f"{len(good) // 3 - 352}",
        ),
        "random bytes": ("noise.nii.gz", rng.bytes(4096), 422, "noise.nii.gz: cannot be read as NIfTI..."),
        "NaN voxels": ("nan.npy", npy.getvalue(), 422, "nan.npy: 1 voxel(s) are NaN or infinite"),
        "constant": (
            "flat.nii",
            _nifti(np.full((8, 8, 8), 7.0, dtype=np.float32)),
            422,
            "flat.nii: every voxel has the value 7; a constant volume has nothing to denoise",
        ),
        "5D": ("vec.nii", _nifti(vectors), 422, "vec.nii: a 5D image (shape (64, 64, 48, 1, 2))..."),
        "unsupported extension": ("brain.mgz", good, 415, "brain.mgz: unsupported file format..."),
    }


@pytest.mark.parametrize(
    "case",
    [
        "malformed DICOM value",
        "malformed DICOM in a zip",
        "infinite vox_offset",
        "infinite vox_offset, sizeof_hdr 540",
        "RGB",
        "zip slip",
        "zip bomb",
        "truncated",
        "random bytes",
        "NaN voxels",
        "constant",
        "5D",
        "unsupported extension",
    ],
)
def test_hostile_upload_is_refused_before_queuing(
    case: str,
    hostile: dict[str, tuple[str, bytes, int, str]],
    client: TestClient,
    queue: RecordingQueue,
    job_folders: Callable[[], list[Path]],
    settings: Settings,
):
    """The upload gets its status and a message naming the file; no job is queued and no folder is left."""
    settings.MAX_ZIP_UNCOMPRESSED_BYTES = 1_000_000
    name, content, status, detail = hostile[case]
    response = client.post("/denoise", data={"method": "n2v"}, files={"file": (name, content)})
    assert response.status_code == status, response.text
    got = response.json()["detail"]
    if detail.endswith("..."):
        assert got.startswith(detail[:-3])
    else:
        assert got == detail
    assert queue.submitted == []
    assert job_folders() == []


def test_zip_of_many_small_compressible_members_is_refused_unextracted(
    client: TestClient,
    queue: RecordingQueue,
    job_folders: Callable[[], list[Path]],
    monkeypatch: pytest.MonkeyPatch,
):
    """A small zip of many small DICOM-looking members of zeros, within the default member and byte limits,
    would expand past the README's 100:1: refused with a 422 naming the ratio, no member opened, nothing
    queued or stored."""
    member = bytes(128) + b"DICM" + bytes(40_000)
    content = _zip({f"series/IM{k:04d}": member for k in range(1000)})
    declared = 1000 * len(member)
    assert declared > 100 * len(content)

    def never_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member was opened although the central directory already broke a limit")

    monkeypatch.setattr(zipfile.ZipFile, "open", never_open)
    response = client.post("/denoise", data={"method": "n2v"}, files={"file": ("small.zip", content)})
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == (
        f"small.zip: the archive's 1000 members expand to {declared} bytes from a {len(content)}-byte zip "
        f"({declared / len(content):.0f}:1), over the limit of 100:1; no medical image compresses that well"
    )
    assert queue.submitted == []
    assert job_folders() == []
