"""A full or nearly full disk: uploads refused with 507 and the project's JSON body before anything is
stored, a disk that fills up mid-write leaves nothing behind, and /health says so."""

from __future__ import annotations

import errno
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celery.canvas import Signature
from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue
from pydicom.data import get_testdata_file
from starlette.datastructures import UploadFile

from services.gateway.app import create_app
from shared.settings import Settings

FULL = "the server's disk is full: nothing was stored; retry later or ask its operator to free space"


def _disk_with_free(monkeypatch: pytest.MonkeyPatch, free: int) -> None:
    """Make every disk look as if it had `free` bytes free."""
    real = shutil.disk_usage

    def usage(path: Any) -> Any:
        total, used, _ = real(path)
        return type(real(path))(total, used, free)

    monkeypatch.setattr(shutil, "disk_usage", usage)


def _no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def _files_under(folder: Path) -> list[Path]:
    """Every file below `folder` (the job and model roots stay; nothing may be inside them)."""
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def post(client: TestClient, nifti_path: Path) -> Callable[[], Any]:
    """Submit the small NIfTI volume for a fit."""

    def send() -> Any:
        with nifti_path.open("rb") as handle:
            return client.post(
                "/denoise", data={"method": "n2v"}, files={"file": ("brain.nii.gz", handle.read())}
            )

    return send


def test_an_upload_that_would_fill_the_disk_is_refused_before_its_body_is_read(
    post: Callable[[], Any],
    settings: Settings,
    queue: RecordingQueue,
    monkeypatch: pytest.MonkeyPatch,
):
    """Under MIN_FREE_DISK_BYTES free after the upload: 507 from its Content-Length, JSON, nothing stored."""
    settings.MIN_FREE_DISK_BYTES = 1 << 30
    _disk_with_free(monkeypatch, (1 << 30) + 1000)
    monkeypatch.setattr(UploadFile, "write", _no_space)  # the body must not even be spooled
    response = post()
    assert response.status_code == 507, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"the request: the server has {(1 << 30) + 1000} bytes free, and storing ")
    assert "MIN_FREE_DISK_BYTES" in detail
    assert str(settings.DATA_DIR) not in detail
    assert queue.submitted == []
    assert _files_under(Path(settings.DATA_DIR)) == []


def test_a_file_that_would_fill_the_disk_is_refused_before_it_is_stored(
    client: TestClient,
    nifti_path: Path,
    settings: Settings,
    queue: RecordingQueue,
    monkeypatch: pytest.MonkeyPatch,
):
    """A body whose length is not declared (chunked) is checked file by file, before each is copied."""
    settings.MIN_FREE_DISK_BYTES = 1 << 30
    _disk_with_free(monkeypatch, 1 << 30)
    size = nifti_path.stat().st_size

    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="method"\r\n\r\nn2v\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="brain.nii.gz"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + nifti_path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def stream() -> Any:
        yield body  # a generator body is sent chunked, without Content-Length

    response = client.post(
        "/denoise", content=stream(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 507, response.text
    assert response.json()["detail"] == (
        f"brain.nii.gz: the server has {1 << 30} bytes free, and storing {size} bytes would leave less than "
        f"the {1 << 30} it keeps for jobs (MIN_FREE_DISK_BYTES); nothing was stored, retry later"
    )
    assert queue.submitted == []
    assert _files_under(Path(settings.DATA_DIR)) == []


def test_a_disk_that_fills_up_while_an_upload_is_copied_leaves_nothing(
    post: Callable[[], Any],
    settings: Settings,
    queue: RecordingQueue,
    job_folders: Callable[[], list[Path]],
    monkeypatch: pytest.MonkeyPatch,
):
    """ENOSPC in the middle of copying the upload into the job's folder: 507, no partial file, no job."""
    real_open = Path.open

    def open_then_fail(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(self, mode, *args, **kwargs)
        if "w" in mode and Path(settings.DATA_DIR) in self.parents:
            handle.write(b"partial")
            handle.close()
            _no_space()
        return handle

    monkeypatch.setattr(Path, "open", open_then_fail)
    response = post()
    assert response.status_code == 507, response.text
    assert response.json()["detail"] == f"brain.nii.gz: {FULL}"
    assert queue.submitted == []
    assert job_folders() == []


def test_a_disk_full_when_the_job_record_is_written_is_a_507(
    post: Callable[[], Any],
    queue: RecordingQueue,
    job_folders: Callable[[], list[Path]],
    monkeypatch: pytest.MonkeyPatch,
):
    """ENOSPC anywhere in the write path (here the job's record) is a 507 with JSON, and the job's folder goes."""
    monkeypatch.setattr("services.gateway.submission.write_record", _no_space)
    response = post()
    assert response.status_code == 507, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": FULL}
    assert queue.submitted == []
    assert job_folders() == []


def test_a_full_temporary_directory_while_the_body_is_spooled_is_a_507(
    post: Callable[[], Any],
    queue: RecordingQueue,
    job_folders: Callable[[], list[Path]],
    monkeypatch: pytest.MonkeyPatch,
):
    """The multipart parser spools files to the temporary directory: ENOSPC there is a 507 too, not a 400."""
    monkeypatch.setattr(UploadFile, "write", _no_space)
    response = post()
    assert response.status_code == 507, response.text
    assert response.json() == {"detail": FULL}
    assert queue.submitted == []
    assert job_folders() == []


def test_a_full_disk_while_a_zip_is_extracted_is_a_507(
    client: TestClient,
    queue: RecordingQueue,
    job_folders: Callable[[], list[Path]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
):
    """A DICOM zip is unpacked to read it: no room for that is the server's problem (507), not an unreadable
    archive (422)."""
    path = tmp_path / "series.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(get_testdata_file("MR_small.dcm"), "IM0001")
    monkeypatch.setattr("shared.io.archive._copy_member", _no_space)
    response = client.post(
        "/denoise", data={"method": "n2v"}, files={"file": ("series.zip", path.read_bytes())}
    )
    assert response.status_code == 507, response.text
    assert response.json() == {"detail": f"series.zip: {FULL}"}
    assert queue.submitted == []
    assert job_folders() == []


def test_health_reports_the_free_space_and_degrades_under_the_threshold(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """/health gives the data directory's free bytes; under MIN_FREE_DISK_BYTES it is degraded and says why."""
    settings.MIN_FREE_DISK_BYTES = 5 << 30
    _disk_with_free(monkeypatch, 6 << 30)
    body = client.get("/health").json()
    assert body["disk_free_bytes"] == 6 << 30
    assert body["disk_min_free_bytes"] == 5 << 30
    assert not any("disk" in line for line in body["down"])
    _disk_with_free(monkeypatch, 4 << 30)
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["disk_free_bytes"] == 4 << 30
    assert (
        f"the data directory's disk has {4 << 30} bytes free, under MIN_FREE_DISK_BYTES ({5 << 30}): "
        "uploads are refused (507)"
    ) in body["down"]


def test_a_full_disk_under_the_local_queue_is_a_507_not_a_queue_outage(
    settings: Settings,
    nifti_path: Path,
    job_folders: Callable[[], list[Path]],
    monkeypatch: pytest.MonkeyPatch,
):
    """Without Redis the queue's messages are files in the data directory: no room for one is a full disk
    (507), not "the job queue cannot be reached" (503)."""
    monkeypatch.setattr(Signature, "apply_async", _no_space)
    volume = nifti_path.read_bytes()
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/metrics", files={"prediction": ("a.nii.gz", volume), "ground_truth": ("b.nii.gz", volume)}
        )
    assert response.status_code == 507, response.text
    assert response.json() == {"detail": FULL}
    assert job_folders() == []
