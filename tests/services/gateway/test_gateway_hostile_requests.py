"""Hostile form fields, query parameters and file names: each a specific 4xx, never a 500, nothing queued."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ("[" * 100_000, "params: String should have at most 16384 characters"),  # its declared maxLength
        ("[" * 5_000 + "]" * 5_000, "params is nested too deeply"),
        ('{"epochs": ' + "9" * 5_000 + "}", "params holds a number too large to read"),
        ('{"epochs": 2', "params is not valid JSON (Expecting ',' delimiter at character 12)"),
        (  # past Starlette's own 1 MiB cap on a field, which answered 400
            "[" * 1_100_000,
            "a form field is over 1024 KB, far over the limit of params (16384 characters); the other fields "
            "are shorter still",
        ),
    ],
)
def test_hostile_params_are_422(
    params: str,
    detail: str,
    client: TestClient,
    queue: RecordingQueue,
    nifti_path: Path,
    job_folders: Callable[[], list[Path]],
):
    """Deep nesting, huge integers, overlong or broken JSON in params: 422 with what is wrong, no job."""
    for route, files in (
        ("/denoise", {"file": ("brain.nii.gz", nifti_path.read_bytes())}),
        ("/train", {"files": ("brain.nii.gz", nifti_path.read_bytes())}),
    ):
        response = client.post(route, data={"method": "n2v", "params": params}, files=files)
        assert response.status_code == 422, (route, response.text)
        assert response.json()["detail"] == detail
    assert queue.submitted == [] and job_folders() == []


def test_hostile_cursor_is_422(client: TestClient):
    """A cursor that decodes to JSON nested thousands deep is refused by its declared shape, never decoded."""
    cursor = base64.urlsafe_b64encode(b"[" * 3_000).decode()
    response = client.get("/jobs", params={"cursor": cursor})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("cursor: String should match pattern")


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("é" * 300 + ".nii.gz", "file: the file name is 307 characters long, over the limit of 255"),
        ("a" * 256, "file: the file name is 256 characters long, over the limit of 255"),
        ("scan\tname.nii.gz", "file: the file name holds control characters; rename the file"),
        ("scan\x1b[31m.nii.gz", "file: the file name holds control characters; rename the file"),
    ],
)
def test_hostile_file_names_are_422_and_never_reach_the_disk(
    name: str,
    detail: str,
    client: TestClient,
    queue: RecordingQueue,
    nifti_path: Path,
    job_folders: Callable[[], list[Path]],
):
    """An overlong name or one with control characters: 422 naming the field, nothing stored or queued."""
    # Written by hand: HTTP clients percent-encode control characters, a hostile one need not.
    body = (
        b'--B\r\nContent-Disposition: form-data; name="method"\r\n\r\nn2v\r\n'
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="'
        + name.encode()
        + b'"\r\n\r\n'
        + nifti_path.read_bytes()
        + b"\r\n--B--\r\n"
    )
    response = client.post(
        "/denoise", content=body, headers={"Content-Type": "multipart/form-data; boundary=B"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == detail
    assert queue.submitted == [] and job_folders() == []


def test_a_name_like_a_folder_of_the_gateway_gets_the_same_answer(client: TestClient, tmp_path: Path):
    """The answer to a name never depends on what exists on the server's disk (no probing by name)."""
    details = {
        client.post("/denoise", data={"method": "n2v"}, files={"file": (name, b"x")}).json()["detail"]
        for name in ("services", "no-such-folder-here")
    }
    assert {detail.split(":", 1)[1] for detail in details} == {
        " unsupported file format; supported: NIfTI (.nii, .nii.gz), a DICOM series as a .zip or a directory, "
        "a single DICOM file (.dcm), NumPy (.npy)"
    }


@pytest.mark.parametrize("path", ["/jobs/x/", "/jobs/", "/models/", "/health/"])
def test_a_trailing_slash_is_a_404_not_a_redirect_to_the_clients_host(client: TestClient, path: str):
    """Starlette redirected `/jobs/x/` to a Location built from the Host header (here a forged one); now a
    404 with the JSON body, and no Location at all."""
    response = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 404, response.headers
    assert "location" not in response.headers
    assert response.json() == {"detail": "Not Found"}
