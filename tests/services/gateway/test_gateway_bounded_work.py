"""Every accepted request has a bounded cost: training budgets are capped, and a file's declared size is
checked from its header before it is decoded."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue

from services.gateway.admission import check_cost
from shared.errors import UnreadableVolumeError
from shared.io.formats import DICOM_ZIP
from shared.settings import Settings


def _nifti_header_only(shape: tuple[int, ...], dtype: type) -> bytes:
    """A NIfTI-1 header declaring `shape` of `dtype`, with none of its voxels (a few bytes once gzipped)."""
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(dtype)
    return header.binaryblock + b"\0" * 4


@pytest.mark.parametrize(
    ("route", "data", "detail"),
    [
        (
            "/denoise",
            {"method": "n2n", "params": json.dumps({"epochs": 10_000, "steps_per_epoch": 1_000_000})},
            "params: a fit of 10000 epochs x 1000000 steps is 10000000000 training steps, over this server's "
            "limit of 20000 (MAX_FIT_STEPS); train a model with /train instead",
        ),
        (
            "/denoise",
            {
                "method": "n2n",
                "params": json.dumps({"epochs": 10_000, "steps_per_epoch": None, "batch_size": 4}),
            },
            "params: a fit of 10000 epochs x 12 steps is 120000 training steps, over this server's limit of "
            "20000 (MAX_FIT_STEPS); train a model with /train instead",  # one pass over 48 slices, batches of 4
        ),
        (
            "/train",
            {"method": "n2v", "params": json.dumps({"epochs": 10_000, "steps_per_epoch": 100_000})},
            "params: a training of 10000 epochs x 100000 steps is 1000000000 training steps, over this "
            "server's limit of 200000 (MAX_TRAIN_STEPS)",
        ),
        (
            "/train",
            {"method": "n2n", "sigma": "20", "params": json.dumps({"epochs": 10_000, "batch_size": 1})},
            "params: a training of 10000 epochs x 48 steps is 480000 training steps, over this server's limit "
            "of 200000 (MAX_TRAIN_STEPS)",  # one pass over 48 slices, one at a time
        ),
    ],
)
def test_every_training_budget_is_capped(
    route: str,
    data: dict[str, str],
    detail: str,
    client: TestClient,
    queue: RecordingQueue,
    nifti_path: Path,
    job_folders: Callable[[], list[Path]],
):
    """N2N fits on /denoise and every /train, explicit or derived steps per epoch: 422 over the cap."""
    volume = ("brain.nii.gz", nifti_path.read_bytes())
    files = [("file", volume), ("file2", volume)] if route == "/denoise" else [("files", volume)]
    response = client.post(route, data=data, files=files)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == detail
    assert queue.submitted == [] and job_folders() == []


def test_a_tiny_nifti_promising_a_huge_volume_is_refused_before_it_is_decoded(
    client: TestClient, queue: RecordingQueue, job_folders: Callable[[], list[Path]]
):
    """A 53-byte .nii.gz whose header promises 1 GiB of voxels: 422 from the header (the reader would have
    allocated the gigabyte first); one promising 2 GiB of float64: 413, nothing decompressed."""
    bomb = gzip.compress(_nifti_header_only((512, 512, 1024), np.float32))
    assert len(bomb) < 100
    response = client.post("/denoise", data={"method": "n2v"}, files={"file": ("bomb.nii.gz", bomb)})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "bomb.nii.gz: truncated: the header declares 1073741824 bytes of voxels, the file holds 0"
    )
    big = gzip.compress(_nifti_header_only((512, 512, 1024), np.float64))
    response = client.post("/denoise", data={"method": "n2v"}, files={"file": ("big.nii.gz", big)})
    assert response.status_code == 413
    assert response.json()["detail"] == (
        "big.nii.gz: the header declares 2147483648 bytes of voxels, over the limit of 1073741824 "
        "(MAX_DECODED_BYTES)"
    )
    assert queue.submitted == [] and job_folders() == []


def test_a_truncated_npy_is_refused_from_its_header(client: TestClient):
    """An .npy whose header declares more bytes than it holds: 422 naming both sizes."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((64, 64, 64), dtype=np.float32))
    cut = buffer.getvalue()[:5000]
    response = client.post("/denoise", data={"method": "n2v"}, files={"file": ("cut.npy", cut)})
    assert response.status_code == 422
    assert (
        response.json()["detail"]
        == "cut.npy: truncated: the header declares 1048576 bytes of voxels, the file holds 4872"
    )


def test_a_zip_without_dicom_is_refused_without_unpacking_it(tmp_path: Path, settings: Settings):
    """A small zip expanding to a megabyte of non-DICOM (within the ratio rule, which judges no archive of
    1 MiB or less): refused from its members' first bytes, at the door. (A bigger one is a bomb, refused
    from the central directory before that.)"""
    path = tmp_path / "zeros.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("slice1.dcm", bytes(1 << 20))
    assert path.stat().st_size < 10_000
    with pytest.raises(UnreadableVolumeError, match=r"^zeros.zip: the archive holds no DICOM images$"):
        check_cost(path, DICOM_ZIP, settings, "zeros.zip")


def test_a_zip_with_dicom_passes_the_door(tmp_path: Path, settings: Settings):
    """A zip holding a real DICOM file is left to the reader."""
    from pydicom.data import get_testdata_file

    path = tmp_path / "series.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(get_testdata_file("MR_small.dcm"), "MR_small.dcm")
    check_cost(path, DICOM_ZIP, settings, "series.zip")


def _padded_zip(padding: int) -> bytes:
    """A zip of one real DICOM file and a member of `padding` zero bytes, streamed in 1 MiB at a time (never
    whole in memory); the archive is about a thousandth of `padding`."""
    from pydicom.data import get_testdata_file

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(get_testdata_file("MR_small.dcm"), "series/IM0001")
        with archive.open("series/padding.bin", "w") as member:
            for start in range(0, padding, 1 << 20):
                member.write(bytes(min(1 << 20, padding - start)))
    return buffer.getvalue()


def test_a_zip_padded_with_a_compression_bomb_is_refused_before_it_is_unpacked(
    client: TestClient, queue: RecordingQueue, job_folders: Callable[[], list[Path]], settings: Settings
):
    """One real DICOM file beside 50 MB of zeros (about 1000:1), well under MAX_ZIP_UNCOMPRESSED_BYTES: it
    passes the door (it holds a DICOM file) but is refused from the central directory, naming the member,
    before anything is unpacked; no job, no folder."""
    content = _padded_zip(50_000_000)
    assert len(content) < 200_000 and settings.MAX_ZIP_UNCOMPRESSED_BYTES > 50_000_000
    compressed = zipfile.ZipFile(io.BytesIO(content)).getinfo("series/padding.bin").compress_size
    response = client.post("/denoise", data={"method": "n2v"}, files={"file": ("padded.zip", content)})
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == (
        f"padded.zip: member 'series/padding.bin' declares 50000000 bytes compressed into {compressed} "
        f"({50_000_000 / compressed:.0f}:1), over the limit of 100:1 for members over 1048576 bytes; no medical "
        "image compresses that well"
    )
    assert queue.submitted == [] and job_folders() == []
