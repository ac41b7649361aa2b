"""GET/DELETE /jobs and /models: status from the steps' states, results, cancellation, the registry."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue

from services.gateway.app import create_app
from services.gateway.deps import get_queue
from services.gateway.jobqueue import TaskState
from shared.errors import ConstantVolumeError
from shared.jobs.store import JobRecord, JobStep, is_cancelled, utcnow, write_record
from shared.manifest import write_manifest
from shared.settings import Settings


def _submit(client: TestClient, nifti_path: Path, ground_truth: bool = False) -> str:
    """Queue an n2v fit (optionally with a ground truth) and return its job id."""
    files = {"file": ("brain.nii.gz", nifti_path.read_bytes())}
    if ground_truth:
        files["ground_truth"] = ("clean.nii.gz", nifti_path.read_bytes())
    response = client.post("/denoise", data={"method": "n2v"}, files=files)
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def test_status_follows_the_steps(
    client: TestClient, queue: RecordingQueue, nifti_path: Path, settings: Settings
):
    """queued -> running with live progress -> metrics step -> succeeded with result URL and metrics."""
    job_id = _submit(client, nifti_path, ground_truth=True)
    denoise_id, metrics_id = (call.task_id for call in queue.submitted[0])
    assert client.get(f"/jobs/{job_id}").json()["status"] == "queued"

    queue.states[denoise_id] = TaskState(
        "PROGRESS",
        {
            "job_step": "denoise",
            "stage": "training",
            "fraction": 0.5,
            "epoch": 10,
            "epochs": 20,
            "loss": 0.01,
        },
    )
    running = client.get(f"/jobs/{job_id}").json()
    assert (running["status"], running["step"]) == ("running", "denoise")
    assert running["progress"]["epoch"] == 10 and running["progress"]["loss"] == 0.01
    assert client.get(f"/jobs/{job_id}/result").status_code == 409

    assert running["workers"] == {}  # the fake's state names no worker yet
    queue.states[denoise_id] = TaskState("SUCCESS", {"result": "x"}, worker="n2v@host-a")
    queue.states[metrics_id] = TaskState("STARTED", {}, worker="metrics@host-b")
    metrics_running = client.get(f"/jobs/{job_id}").json()
    assert metrics_running["step"] == "metrics"
    assert metrics_running["workers"] == {"denoise": "n2v@host-a", "metrics": "metrics@host-b"}

    report = {"data_range": 1.0, "volume": {"psnr": math.inf, "rmse": 0.0, "ssim": 1.0}}
    queue.states[metrics_id] = TaskState("SUCCESS", report)
    result_file = Path(settings.DATA_DIR) / "jobs" / job_id / "result.nii.gz"
    result_file.write_bytes(b"denoised")
    done = client.get(f"/jobs/{job_id}").json()
    assert done["status"] == "succeeded"
    assert done["result"] == f"/jobs/{job_id}/result"
    assert done["metrics"]["volume"] == {"psnr": None, "rmse": 0.0, "ssim": 1.0}  # infinite PSNR -> null
    download = client.get(done["result"])
    assert download.status_code == 200 and download.content == b"denoised"
    assert download.headers["content-disposition"].endswith('filename="brain_denoised.nii.gz"')


def test_failed_step_shows_the_workers_message(client: TestClient, queue: RecordingQueue, nifti_path: Path):
    """A worker error is 'failed' with the error's own text."""
    job_id = _submit(client, nifti_path)
    [call] = queue.submitted[0]
    queue.states[call.task_id] = TaskState("FAILURE", ConstantVolumeError("brain.nii.gz: every voxel is 0"))
    view = client.get(f"/jobs/{job_id}").json()
    assert (view["status"], view["error"]) == ("failed", "brain.nii.gz: every voxel is 0")


def test_delete_cancels_and_removes_the_job(
    client: TestClient,
    queue: RecordingQueue,
    nifti_path: Path,
    settings: Settings,
    job_folders: Callable[[], list[Path]],
):
    """DELETE revokes every step, leaves a tombstone for workers, removes the files; the job is then 404."""
    job_id = _submit(client, nifti_path, ground_truth=True)
    assert client.delete(f"/jobs/{job_id}").status_code == 204
    assert queue.cancelled == [call.task_id for call in queue.submitted[0]]
    assert is_cancelled(Path(settings.DATA_DIR), job_id)
    assert job_folders() == []
    assert client.get(f"/jobs/{job_id}").status_code == 404
    assert client.delete(f"/jobs/{job_id}").status_code == 404


def test_unknown_job_is_404(client: TestClient):
    """Unknown ids and ids that could name a path are 404 with the same message."""
    for job_id in ("0" * 32, "..%2F..%2Fetc"):
        response = client.get(f"/jobs/{job_id}")
        assert response.status_code == 404


def test_models_are_listed_shown_and_deleted(client: TestClient, settings: Settings):
    """The registry lists manifests (newest first), shows one, deletes one; an unknown id is 404."""
    for model_id in ("n2n-a", "n2v-b"):
        folder = Path(settings.DATA_DIR) / "models" / model_id
        folder.mkdir(parents=True)
        (folder / "w.bin").write_bytes(model_id.encode())
        write_manifest(
            folder,
            method=model_id[:3],  # type: ignore[arg-type]
            framework="test 1.0",
            config={"epochs": 2},
            data={"shapes": [[48, 64, 64]], "sigma": 20.0},
            validation={"psnr": 30.5},
            files=["w.bin"],
        )
    listed = client.get("/models").json()["items"]
    assert [m["id"] for m in listed] == ["n2v-b", "n2n-a"]
    shown = client.get("/models/n2n-a").json()
    assert shown["method"] == "n2n" and shown["data"]["sigma"] == 20.0 and "w.bin" in shown["files"]
    assert client.delete("/models/n2n-a").status_code == 204
    assert [m["id"] for m in client.get("/models").json()["items"]] == ["n2v-b"]
    missing = client.get("/models/n2n-a")
    assert (missing.status_code, missing.json()["detail"]) == (404, "no model with id 'n2n-a'")


def test_client_file_names_stay_in_the_jobs_own_view(
    client: TestClient, queue: RecordingQueue, settings: Settings, nifti_path: Path
):
    """A name that may carry a patient's is in GET /jobs/{id} only: not in any payload, not in the listing."""
    name = "Doe_Jane_1961-04-02.nii.gz"
    volume = nifti_path.read_bytes()
    response = client.post(
        "/denoise",
        data={"method": "n2v"},
        files=[("file", (name, volume)), ("ground_truth", (name, volume))],
    )
    job_id = response.json()["job_id"]
    payloads = json.dumps([call.payload for calls in queue.submitted for call in calls])
    assert "Doe_Jane" not in payloads
    assert "Doe_Jane" not in client.get("/jobs").text
    assert client.get(f"/jobs/{job_id}").json()["inputs"] == {"file": name, "ground_truth": name}


def test_the_gateway_purges_expired_jobs_when_it_starts(
    settings: Settings, queue: RecordingQueue, nifti_path: Path
):
    """With JOB_RETENTION_DAYS set, a job accepted before that is gone (404) once the gateway has started."""
    settings.JOB_RETENTION_DAYS = 14
    old = JobRecord(
        id="old1",
        kind="metrics",
        created=utcnow() - timedelta(days=15),
        steps=[JobStep(name="metrics", task="metrics.evaluate", task_id="old1-metrics")],
    )
    write_record(Path(settings.DATA_DIR), old)
    app = create_app(settings)
    app.dependency_overrides[get_queue] = lambda: queue
    with TestClient(app) as client:
        deadline = time.monotonic() + 10
        while (Path(settings.DATA_DIR) / "jobs" / "old1").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/jobs/old1").status_code == 404


QUALITY = {
    "method": "n2v",
    "noise_sigma": 0.0775,
    "rmse_estimate": 0.031,
    "rmse_uncertainty": 0.0004,
    "psnr_estimate": 30.2,
    "data_range": 1.0,
    "residual": {"std_ratio": 1.02, "correlation": 0.03},
    "warnings": [],
}
"""The part of a worker's quality block (shared.quality.assessment.QualityReport) a user reads first."""


def test_a_finished_denoising_job_carries_its_quality_block(
    client: TestClient, queue: RecordingQueue, nifti_path: Path, settings: Settings
):
    """GET /jobs/{id} gives the denoise step's quality block once the job has succeeded, and none before."""
    job_id = _submit(client, nifti_path)
    [call] = queue.submitted[0]
    assert client.get(f"/jobs/{job_id}").json()["quality"] is None
    queue.states[call.task_id] = TaskState("SUCCESS", {"result": "result.nii.gz", "quality": QUALITY})
    (Path(settings.DATA_DIR) / "jobs" / job_id / "result.nii.gz").write_bytes(b"denoised")
    done = client.get(f"/jobs/{job_id}").json()
    assert done["status"] == "succeeded"
    assert done["quality"] == QUALITY


def test_the_residual_is_served_once_it_exists(
    client: TestClient, queue: RecordingQueue, nifti_path: Path, settings: Settings
):
    """GET /jobs/{id}/residual: 404 for no such job, 409 while the job runs or when it wrote no residual,
    then the file beside the result, named after the upload in the input's format."""
    assert client.get("/jobs/nosuchjob/residual").status_code == 404
    job_id = _submit(client, nifti_path)
    [call] = queue.submitted[0]
    running = client.get(f"/jobs/{job_id}/residual")
    assert running.status_code == 409 and "queued" in running.json()["detail"]
    queue.states[call.task_id] = TaskState("SUCCESS", {"result": "result.nii.gz", "quality": QUALITY})
    folder = Path(settings.DATA_DIR) / "jobs" / job_id
    (folder / "result.nii.gz").write_bytes(b"denoised")
    missing = client.get(f"/jobs/{job_id}/residual")  # succeeded, but no residual was written (an older job)
    assert missing.status_code == 409 and "no residual" in missing.json()["detail"]
    (folder / "residual.nii.gz").write_bytes(b"input minus result")
    served = client.get(f"/jobs/{job_id}/residual")
    assert served.status_code == 200 and served.content == b"input minus result"
    assert served.headers["content-disposition"].endswith('filename="brain_residual.nii.gz"')


def test_a_dicom_jobs_residual_is_a_zip_and_a_training_job_has_none(
    client: TestClient, queue: RecordingQueue, settings: Settings
):
    """The residual keeps the input's format (a DICOM zip in, a zip out); a job with no result has no residual."""
    data_dir = Path(settings.DATA_DIR)
    step = JobStep(name="denoise", task="n2v.denoise", task_id="dicom1-denoise")
    record = JobRecord(
        id="dicom1",
        kind="denoise",
        method="n2v",
        created=utcnow(),
        steps=[step],
        inputs={"file": "scan.zip"},
        input_format="dicom",
        result="result.zip",
    )
    write_record(data_dir, record)
    queue.states[step.task_id] = TaskState("SUCCESS", {"result": "result.zip", "quality": QUALITY})
    (data_dir / "jobs" / "dicom1" / "result.zip").write_bytes(b"PK denoised")
    (data_dir / "jobs" / "dicom1" / "residual.zip").write_bytes(b"PK residual series")
    served = client.get("/jobs/dicom1/residual")
    assert served.status_code == 200 and served.content == b"PK residual series"
    assert served.headers["content-type"] == "application/zip"
    assert served.headers["content-disposition"].endswith('filename="scan_residual.zip"')
    train = JobRecord(
        id="train1",
        kind="train",
        method="n2v",
        created=utcnow(),
        steps=[JobStep(name="train", task="n2v.train", task_id="train1-train")],
    )
    write_record(data_dir, train)
    assert client.get("/jobs/train1/residual").status_code == 404
