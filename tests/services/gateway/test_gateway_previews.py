"""GET /jobs/{id}/preview/{input|result|difference}: gzipped NIfTI with the input's geometry, any upload format."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue

from services.gateway.jobqueue import TaskState
from shared.io import read_volume, write_volume
from shared.settings import Settings
from shared.volume import Volume


@pytest.fixture(scope="module")
def dicom_zip(small_mni_volume: Volume, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small MNI152 block as a DICOM series in a zip (geometry from its affine)."""
    return write_volume(small_mni_volume, tmp_path_factory.mktemp("previews") / "series.zip")


def _submit(client: TestClient, path: Path) -> str:
    """Queue an n2v fit of one upload; its job id."""
    response = client.post("/denoise", data={"method": "n2v"}, files={"file": (path.name, path.read_bytes())})
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def _succeed(queue: RecordingQueue, settings: Settings, job_id: str, result: Volume, name: str) -> None:
    """What a worker leaves when the job succeeds: the result file and a SUCCESS state."""
    write_volume(result, Path(settings.DATA_DIR) / "jobs" / job_id / name)
    [call] = queue.submitted[-1]
    queue.states[call.task_id] = TaskState("SUCCESS", {"result": name})


def _nifti(content: bytes) -> nib.Nifti1Image:
    """A gzipped NIfTI answer as an image."""
    return nib.Nifti1Image.from_bytes(gzip.decompress(content))


@pytest.mark.slow
def test_dicom_job_previews_keep_the_series_geometry(
    client: TestClient, queue: RecordingQueue, settings: Settings, dicom_zip: Path
):
    """Input, result and difference of a DICOM job come back as gzipped NIfTI on the series' own grid
    (same affine as the project's reader gives the zip), the difference being input - result."""
    job_id = _submit(client, dicom_zip)
    series = read_volume(dicom_zip)
    preview = client.get(f"/jobs/{job_id}/preview/input")
    assert preview.status_code == 200, preview.text
    assert preview.headers["content-type"] == "application/gzip"
    assert preview.headers["cache-control"] == "no-store"
    image = _nifti(preview.content)
    assert np.allclose(image.affine, series.affine)
    assert np.allclose(np.asarray(image.dataobj).transpose(2, 1, 0), series.data)

    assert client.get(f"/jobs/{job_id}/preview/result").status_code == 409
    smoothed = series.with_data(series.data * 0.5)  # keeps the DICOM source: written as a derived series
    _succeed(queue, settings, job_id, smoothed, "result.zip")
    result = _nifti(client.get(f"/jobs/{job_id}/preview/result").content)
    difference = _nifti(client.get(f"/jobs/{job_id}/preview/difference").content)
    expected_result = read_volume(Path(settings.DATA_DIR) / "jobs" / job_id / "result.zip").data
    assert np.allclose(result.affine, series.affine) and np.allclose(difference.affine, series.affine)
    assert np.allclose(np.asarray(result.dataobj).transpose(2, 1, 0), expected_result)
    assert np.allclose(
        np.asarray(difference.dataobj).transpose(2, 1, 0), series.data - expected_result, atol=1e-5
    )


def test_nifti_gz_uploads_are_previewed_as_they_are(
    client: TestClient, queue: RecordingQueue, settings: Settings, nifti_path: Path
):
    """A .nii.gz input is its own preview, byte for byte; a result in the same format likewise."""
    job_id = _submit(client, nifti_path)
    assert client.get(f"/jobs/{job_id}/preview/input").content == nifti_path.read_bytes()
    volume = read_volume(nifti_path)
    _succeed(queue, settings, job_id, volume.with_data(volume.data + 1.0), "result.nii.gz")
    stored = (Path(settings.DATA_DIR) / "jobs" / job_id / "result.nii.gz").read_bytes()
    assert client.get(f"/jobs/{job_id}/preview/result").content == stored
    difference = _nifti(client.get(f"/jobs/{job_id}/preview/difference").content)
    assert np.allclose(np.asarray(difference.dataobj), -1.0, atol=1e-5)


def test_npy_upload_is_previewed_as_nifti(
    client: TestClient, settings: Settings, small_mni_volume: Volume, tmp_path: Path
):
    """A .npy upload (no geometry) is previewed as NIfTI of the same voxels."""
    path = tmp_path / "block.npy"
    np.save(path, small_mni_volume.data)
    job_id = _submit(client, path)
    image = nib.Nifti1Image.from_bytes(gzip.decompress(client.get(f"/jobs/{job_id}/preview/input").content))
    assert np.allclose(np.asarray(image.dataobj).transpose(2, 1, 0), small_mni_volume.data)


def test_previews_are_refused_where_there_is_no_volume(client: TestClient, nifti_path: Path):
    """A metrics job has no volume to preview (404); an unknown kind is a 422; a cancelled job a 404."""
    response = client.post(
        "/metrics",
        files={
            "prediction": ("p.nii.gz", nifti_path.read_bytes()),
            "ground_truth": ("t.nii.gz", nifti_path.read_bytes()),
        },
    )
    metrics_job = response.json()["job_id"]
    answer = client.get(f"/jobs/{metrics_job}/preview/input")
    assert answer.status_code == 404
    assert answer.json()["detail"] == f"job {metrics_job} is a metrics job: it has no volume to preview"
    job_id = _submit(client, nifti_path)
    assert client.get(f"/jobs/{job_id}/preview/ground_truth").status_code == 422
    assert client.delete(f"/jobs/{job_id}").status_code == 204
    assert client.get(f"/jobs/{job_id}/preview/input").status_code == 404


@pytest.mark.slow
def test_preview_volume_reads_back_with_the_project_reader(
    client: TestClient, dicom_zip: Path, tmp_path: Path
):
    """What the page loads is a NIfTI the project's own reader accepts, with the upload's shape and spacing."""
    job_id = _submit(client, dicom_zip)
    path = tmp_path / "preview.nii.gz"
    path.write_bytes(client.get(f"/jobs/{job_id}/preview/input").content)
    preview, series = read_volume(path), read_volume(dicom_zip)
    assert preview.shape == series.shape
    assert np.allclose(preview.spacing, series.spacing)
    assert io.BytesIO(path.read_bytes()).read(2) == b"\x1f\x8b"  # gzip, as the viewer is told
