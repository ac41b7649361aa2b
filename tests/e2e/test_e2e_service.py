"""End to end over HTTP: the gateway, Redis and real Celery workers, as a user meets them."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import signal
import zipfile
from pathlib import Path

import httpx
import nibabel as nib
import numpy as np
import pydicom
import pytest
from e2e_helpers import upload, wait_for, wait_for_stage, wait_until_gone

from services.embedded.runtime import ServiceProcesses
from shared.io import read_volume
from shared.metrics import evaluate

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# A budget this small only helps with a higher learning rate, more blind spots per patch and no batch norm
# (measured here: +4 dB; n2v's defaults need hundreds of steps to beat the noisy input).
N2V_FIT = {
    "epochs": 3,
    "steps_per_epoch": 20,
    "batch_size": 16,
    "patch_size": 32,
    "lr": 3e-3,
    "n2v_perc_pix": 1.5,
    "batch_norm": False,
    "seed": 0,
}
N2N_TRAIN = {"epochs": 2, "crop_size": 32, "batch_size": 4, "steps_per_epoch": 5, "seed": 0}


@pytest.fixture(scope="module")
def n2n_model(redis_api: httpx.Client, e2e_volumes: dict[str, Path]) -> str:
    """An N2N model trained through POST /train from a clean volume + sigma (the paper's protocol)."""
    response = redis_api.post(
        "/train",
        data={"method": "n2n", "sigma": "30", "params": json.dumps(N2N_TRAIN)},
        files=upload(("files", e2e_volumes["clean"])),
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    view = wait_for(redis_api, accepted["job_id"])
    assert view["status"] == "succeeded", view
    assert view["model_url"] == f"/models/{accepted['model_id']}"
    return accepted["model_id"]


def test_n2v_fit_on_a_nifti_upload_denoises_it(redis_api: httpx.Client, e2e_volumes: dict[str, Path]):
    """NIfTI in -> N2V fit -> poll -> NIfTI out with the same affine, PSNR clearly above the noisy input."""
    response = redis_api.post(
        "/denoise",
        data={"method": "n2v", "params": json.dumps(N2V_FIT)},
        files=upload(("file", e2e_volumes["noisy"]), ("ground_truth", e2e_volumes["clean"])),
    )
    assert response.status_code == 202, response.text
    view = wait_for(redis_api, response.json()["job_id"])
    assert view["status"] == "succeeded", view
    download = redis_api.get(view["result"])
    assert download.status_code == 200
    result = nib.Nifti1Image.from_bytes(gzip.decompress(download.content))
    original = nib.load(e2e_volumes["noisy"])
    assert result.shape == original.shape
    assert (result.affine == original.affine).all()

    clean = read_volume(e2e_volumes["clean"])
    noisy_psnr = evaluate(read_volume(e2e_volumes["noisy"]).data, clean.data).volume.psnr
    job_psnr = view["metrics"]["volume"]["psnr"]
    assert job_psnr > noisy_psnr + 2.0, (job_psnr, noisy_psnr)
    denoised = result.get_fdata().astype("float32").transpose(2, 1, 0)
    assert abs(evaluate(denoised, clean.data).volume.psnr - job_psnr) < 0.01

    # Quality without the reference: the job says how noisy the input was and how far off the result is,
    # and serves what was removed.
    quality = view["quality"]
    assert quality["method"] == "n2v" and quality["noise_sigma"] > 0 and quality["rmse_estimate"] > 0
    assert set(quality["residual"]) >= {"std_ratio", "correlation"}
    removed = redis_api.get(f"/jobs/{view['job_id']}/residual")
    assert removed.status_code == 200
    residual = nib.Nifti1Image.from_bytes(gzip.decompress(removed.content)).get_fdata()
    noisy = nib.load(e2e_volumes["noisy"]).get_fdata()
    np.testing.assert_allclose(residual, noisy - result.get_fdata(), atol=1e-4)


def test_trained_n2n_model_is_listed_and_denoises_with_file2_average(
    redis_api: httpx.Client, e2e_volumes: dict[str, Path], n2n_model: str, tmp_path: Path
):
    """The /train model appears in /models with its manifest; denoising with it and file2 succeeds."""
    listed = {model["id"]: model for model in redis_api.get("/models").json()["items"]}
    manifest = listed[n2n_model]
    assert manifest["method"] == "n2n" and manifest["data"]["sigma"] == 30.0
    assert manifest["files"] and all(len(digest) == 64 for digest in manifest["files"].values())

    response = redis_api.post(
        "/denoise",
        data={"method": "n2n", "model_id": n2n_model},
        files=upload(("file", e2e_volumes["noisy"]), ("file2", e2e_volumes["noisy2"])),
    )
    assert response.status_code == 202, response.text
    view = wait_for(redis_api, response.json()["job_id"])
    assert view["status"] == "succeeded", view
    assert view["model_id"] == n2n_model
    (tmp_path / "avg.nii.gz").write_bytes(redis_api.get(view["result"]).content)
    result = read_volume(tmp_path / "avg.nii.gz")
    assert result.shape == read_volume(e2e_volumes["noisy"]).shape


def test_dicom_zip_comes_back_as_a_derived_series(
    redis_api: httpx.Client, e2e_volumes: dict[str, Path], n2n_model: str
):
    """A DICOM series zip in -> a zip of a new, derived series with as many slices, study kept."""
    response = redis_api.post(
        "/denoise",
        data={"method": "n2n", "model_id": n2n_model},
        files=upload(("file", e2e_volumes["dicom"])),
    )
    assert response.status_code == 202, response.text
    view = wait_for(redis_api, response.json()["job_id"])
    assert view["status"] == "succeeded", view
    download = redis_api.get(view["result"])
    assert download.headers["content-type"] == "application/zip"
    before = _datasets(e2e_volumes["dicom"].read_bytes())
    after = _datasets(download.content)
    assert len(after) == len(before)
    assert {ds.SeriesInstanceUID for ds in after}.isdisjoint({ds.SeriesInstanceUID for ds in before})
    assert {ds.StudyInstanceUID for ds in after} == {ds.StudyInstanceUID for ds in before}
    assert all("DERIVED" in ds.ImageType for ds in after)


def test_metrics_route_scores_two_uploads(redis_api: httpx.Client, e2e_volumes: dict[str, Path]):
    """POST /metrics gives the same PSNR / RMSE / SSIM as shared.metrics, per volume and per slice."""
    response = redis_api.post(
        "/metrics",
        files=upload(("prediction", e2e_volumes["noisy"]), ("ground_truth", e2e_volumes["clean"])),
    )
    assert response.status_code == 202, response.text
    view = wait_for(redis_api, response.json()["job_id"])
    assert view["status"] == "succeeded", view
    expected = evaluate(read_volume(e2e_volumes["noisy"]).data, read_volume(e2e_volumes["clean"]).data)
    assert view["metrics"]["volume"]["psnr"] == pytest.approx(expected.volume.psnr, abs=1e-6)
    assert view["metrics"]["slice_mean"]["ssim"] == pytest.approx(expected.slice_mean.ssim, abs=1e-6)
    assert len(view["metrics"]["per_slice"]) == len(expected.per_slice)


def test_worker_error_shows_failed_with_its_message(
    redis_api: httpx.Client, redis_service: ServiceProcesses, e2e_volumes: dict[str, Path], n2n_model: str
):
    """A model whose weights were modified after registration fails in the worker, with the reason."""
    models = redis_service.data_dir / "models"
    tampered = models / "n2n-tampered"
    shutil.copytree(models / n2n_model, tampered)
    weights = next(tampered / name for name in json.loads((tampered / "manifest.json").read_text())["files"])
    weights.write_bytes(weights.read_bytes()[:-8] + b"tampered")
    response = redis_api.post(
        "/denoise",
        data={"method": "n2n", "model_id": "n2n-tampered"},
        files=upload(("file", e2e_volumes["noisy"])),
    )
    assert response.status_code == 202, response.text
    view = wait_for(redis_api, response.json()["job_id"])
    assert view["status"] == "failed"
    # The job's error names the model by its id, never by its folder on the server.
    assert (
        view["error"]
        == f"model '{tampered.name}': {weights.name} does not match its checksum (corrupt or modified)"
    )


def test_killed_worker_process_job_is_redelivered_and_finishes(
    redis_api: httpx.Client, redis_service: ServiceProcesses, e2e_volumes: dict[str, Path]
):
    """SIGKILL of the process running an N2N job mid-training: the job is redelivered and succeeds."""
    params = {**N2N_TRAIN, "epochs": 3, "steps_per_epoch": 4}
    response = redis_api.post(
        "/denoise",
        data={"method": "n2n", "params": json.dumps(params)},
        files=upload(("file", e2e_volumes["noisy"]), ("file2", e2e_volumes["noisy2"])),
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    view = wait_for_stage(redis_api, job_id, "training")
    assert view["status"] == "running", view
    [child] = redis_service.worker_children("n2n")
    os.kill(child, signal.SIGKILL)
    final = wait_for(redis_api, job_id)
    assert final["status"] == "succeeded", final
    assert redis_service.worker_children("n2n") != [child]


def test_delete_cancels_a_running_job_and_removes_its_files(
    redis_api: httpx.Client, redis_service: ServiceProcesses, e2e_volumes: dict[str, Path]
):
    """DELETE while an N2V fit runs: 204, the job is gone (404) and its folder is removed."""
    params = {**N2V_FIT, "epochs": 50}
    response = redis_api.post(
        "/denoise",
        data={"method": "n2v", "params": json.dumps(params)},
        files=upload(("file", e2e_volumes["noisy"])),
    )
    job_id = response.json()["job_id"]
    view = wait_for_stage(redis_api, job_id, "training")
    assert view["status"] == "running", view
    assert redis_api.delete(f"/jobs/{job_id}").status_code == 204
    assert redis_api.get(f"/jobs/{job_id}").status_code == 404
    assert wait_until_gone(redis_service.data_dir / "jobs" / job_id)


def _datasets(content: bytes) -> list[pydicom.Dataset]:
    """The DICOM datasets inside a zip's bytes."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return [
            pydicom.dcmread(io.BytesIO(archive.read(info)))
            for info in archive.infolist()
            if not info.is_dir()
        ]
