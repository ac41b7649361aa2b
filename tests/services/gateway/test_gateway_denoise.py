"""POST /denoise: what is accepted, what is queued, and what is refused before queuing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue

from shared.manifest import write_manifest
from shared.methods import FIT_DEFAULTS
from shared.queue.names import METRICS_EVALUATE, denoise_task
from shared.settings import Settings
from shared.volume import Volume

N2N_DENOISE, N2V_DENOISE = denoise_task("n2n"), denoise_task("n2v")


def _files(**paths: Path) -> dict[str, tuple[str, bytes]]:
    """Multipart file fields from paths."""
    return {field: (path.name, path.read_bytes()) for field, path in paths.items()}


def _register(settings: Settings, model_id: str, method: str) -> None:
    """A registry entry with a manifest and one (fake) weight file."""
    folder = Path(settings.DATA_DIR) / "models" / model_id
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"weights")
    write_manifest(
        folder, method=method, framework="test", config={}, data={}, validation={}, files=["weights.bin"]
    )


def test_n2v_fit_is_queued_with_the_fit_budget(
    client: TestClient, queue: RecordingQueue, settings: Settings, nifti_path: Path
):
    """An n2v upload without a model answers 202, stores the upload and queues one n2v task with a budget."""
    response = client.post(
        "/denoise", data={"method": "n2v", "params": '{"epochs": 3}'}, files=_files(file=nifti_path)
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status_url"] == f"/jobs/{body['job_id']}"
    [calls] = queue.submitted
    [call] = calls
    assert call.name == N2V_DENOISE
    assert (call.payload["config"]["method"], call.payload["config"]["epochs"]) == ("n2v", 3)
    assert call.payload["config"]["steps_per_epoch"] == FIT_DEFAULTS["n2v"]["steps_per_epoch"]
    assert call.payload["result"].endswith("result.nii.gz")
    stored = Path(settings.DATA_DIR) / call.payload["input"]["path"]
    assert stored.read_bytes() == nifti_path.read_bytes()
    assert call.payload["input"]["name"] == "file"  # the form field: a client's file name never travels


def test_ground_truth_adds_a_metrics_step(client: TestClient, queue: RecordingQueue, nifti_path: Path):
    """With ground_truth the job is denoise then metrics, the metrics step scoring the denoise result."""
    response = client.post(
        "/denoise", data={"method": "n2v"}, files=_files(file=nifti_path, ground_truth=nifti_path)
    )
    assert response.status_code == 202, response.text
    [calls] = queue.submitted
    assert [call.name for call in calls] == [N2V_DENOISE, METRICS_EVALUATE]
    assert calls[1].payload["prediction"]["path"] == calls[0].payload["result"]


def test_n2n_pair_and_registered_model_are_queued(
    client: TestClient, queue: RecordingQueue, settings: Settings, nifti_path: Path
):
    """n2n with file2 (train on the pair) and n2n with a model + file2 (Eq. 3 average) are both accepted."""
    _register(settings, "n2n-model", "n2n")
    pair = client.post("/denoise", data={"method": "n2n"}, files=_files(file=nifti_path, file2=nifti_path))
    average = client.post(
        "/denoise",
        data={"method": "n2n", "model_id": "n2n-model"},
        files=_files(file=nifti_path, file2=nifti_path),
    )
    assert (pair.status_code, average.status_code) == (202, 202)
    assert [calls[0].name for calls in queue.submitted] == [N2N_DENOISE, N2N_DENOISE]
    assert queue.submitted[1][0].payload["model_id"] == "n2n-model"
    assert queue.submitted[1][0].payload["second"]["name"] == "file2"


def test_n2n_on_one_scan_fits_by_recorruption_and_two_pair_sources_are_422(
    client: TestClient, queue: RecordingQueue, nifti_path: Path, job_folders: Callable[[], list[Path]]
):
    """A single scan with fit is an n2n fine-tuning of the prior on it (R2R); file2 and repeats at once is
    refused, nothing queued."""
    single = client.post("/denoise", data={"method": "n2n", "fit": "true"}, files=_files(file=nifti_path))
    assert single.status_code == 202, single.text
    config = queue.submitted[0][0].payload["config"]
    assert config["method"] == "n2n" and config["start"] == "prior"
    both = client.post(
        "/denoise", data={"method": "n2n", "repeats": "true"}, files=_files(file=nifti_path, file2=nifti_path)
    )
    assert both.status_code == 422
    assert both.json()["detail"] == (
        "give either file2 (a second acquisition) or repeats (a series of repetitions), not both"
    )
    assert len(queue.submitted) == 1 and len(job_folders()) == 1


def test_unknown_model_is_404(client: TestClient, queue: RecordingQueue, nifti_path: Path):
    """A model id that is not registered (or could name another path) is 404."""
    for model_id in ("n2n-nope", "../models"):
        response = client.post(
            "/denoise", data={"method": "n2n", "model_id": model_id}, files=_files(file=nifti_path)
        )
        assert response.status_code == 404
        assert response.json()["detail"] == f"no model with id {model_id!r}"
    assert queue.submitted == []


def test_model_of_the_other_method_is_422(
    client: TestClient, queue: RecordingQueue, settings: Settings, nifti_path: Path
):
    """Denoising with n2v and an n2n model is refused before queuing."""
    _register(settings, "n2n-model", "n2n")
    response = client.post(
        "/denoise", data={"method": "n2v", "model_id": "n2n-model"}, files=_files(file=nifti_path)
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert (
        detail == "model 'n2n-model': this is a n2n model, not a n2v model"
    )  # the server's path: only logged
    assert queue.submitted == []


def test_bad_params_are_422_before_queuing(
    client: TestClient, queue: RecordingQueue, nifti_path: Path, job_folders: Callable[[], list[Path]]
):
    """Unknown config fields, out-of-range values, non-JSON and over-budget fits are refused with a reason."""
    cases = {
        '{"epoch": 2}': "invalid n2v config: epoch: Extra inputs are not permitted",
        '{"epochs": 0}': "invalid n2v config: epochs: Input should be greater than or equal to 1",
        "[1, 2]": 'params must be a JSON object of config fields, e.g. {"epochs": 2}',
        "{epochs: 2}": "params is not valid JSON (Expecting property name enclosed in double quotes at character 1)",
        '{"epochs": 1000, "steps_per_epoch": 1000}': (
            "params: a fit of 1000 epochs x 1000 steps is 1000000 training steps, over this server's limit "
            "of 20000 (MAX_FIT_STEPS); train a model with /train instead"
        ),
    }
    for params, detail in cases.items():
        response = client.post(
            "/denoise", data={"method": "n2v", "params": params}, files=_files(file=nifti_path)
        )
        assert response.status_code == 422, params
        assert response.json()["detail"] == detail
    assert queue.submitted == [] and job_folders() == []


def test_shape_mismatch_of_the_ground_truth_is_422(
    client: TestClient,
    queue: RecordingQueue,
    nifti_path: Path,
    other_shape_path: Path,
    job_folders: Callable[[], list[Path]],
):
    """A ground truth of another shape is refused at once and the stored uploads are removed."""
    response = client.post(
        "/denoise", data={"method": "n2v"}, files=_files(file=nifti_path, ground_truth=other_shape_path)
    )
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "brain.nii.gz has shape (48, 64, 64) but smaller.nii.gz has shape (40, 48, 48); they must match"
    )
    assert queue.submitted == [] and job_folders() == []


def test_file2_with_n2v_is_422(client: TestClient, queue: RecordingQueue, nifti_path: Path):
    """n2v uses one acquisition: a second one is refused rather than ignored."""
    response = client.post(
        "/denoise", data={"method": "n2v"}, files=_files(file=nifti_path, file2=nifti_path)
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "file2 (a second acquisition) is only used by method n2n"
    assert queue.submitted == []


def test_params_with_a_model_are_422(
    client: TestClient, queue: RecordingQueue, settings: Settings, nifti_path: Path
):
    """Fitting params next to a registered model would be silently ignored, so they are refused."""
    _register(settings, "n2v-model", "n2v")
    response = client.post(
        "/denoise",
        data={"method": "n2v", "model_id": "n2v-model", "params": json.dumps({"epochs": 2})},
        files=_files(file=nifti_path),
    )
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "fit, scratch, params, plane, repeats and volumes are for fitting; model n2v-model is used as it was trained"
    )


def test_chosen_repeated_volumes_are_queued_and_checked_against_the_series(
    client: TestClient, queue: RecordingQueue, small_mni_volume: Volume, tmp_path: Path
):
    """`volumes` names the repetitions of a 4D upload: queued as a list (repeats implied); an index past the
    series, one volume alone, or n2v is 422 before anything is queued."""
    series = tmp_path / "dwi.nii.gz"
    frames = np.stack([small_mni_volume.data] * 3)
    nib.save(nib.Nifti1Image(frames.transpose(3, 2, 1, 0), small_mni_volume.affine), series)
    accepted = client.post("/denoise", data={"method": "n2n", "volumes": "0,1"}, files=_files(file=series))
    assert accepted.status_code == 202, accepted.text
    [[call]] = queue.submitted
    assert (call.payload["volumes"], call.payload["repeats"]) == ([0, 1], True)
    refusals = {
        "0,3": "volumes: dwi.nii.gz holds 3 volumes (0 to 2); there is no volume 3",
        "2": "volumes: choose at least 2 volumes that repeat the same acquisition, to pair; got 1",
    }
    for volumes, message in refusals.items():
        response = client.post(
            "/denoise", data={"method": "n2n", "volumes": volumes}, files=_files(file=series)
        )
        assert (response.status_code, response.json()["detail"]) == (422, message)
    n2v = client.post("/denoise", data={"method": "n2v", "volumes": "0,1"}, files=_files(file=series))
    assert n2v.status_code == 422 and "n2v trains on every volume" in n2v.json()["detail"]
    assert len(queue.submitted) == 1


def test_without_a_model_or_a_fit_the_shipped_prior_denoises(
    client: TestClient, queue: RecordingQueue, nifti_path: Path
):
    """POST /denoise with nothing but a file runs the shipped prior (n2n) told the upload's noise level;
    scratch asks for a fit from random weights; noise_sigma and planes travel to the worker."""
    plain = client.post("/denoise", files=_files(file=nifti_path))
    assert plain.status_code == 202, plain.text
    payload = queue.submitted[0][0].payload
    assert payload["method"] == "n2n" and payload["model_id"] == "prior" and payload["config"] is None
    assert client.get(f"/jobs/{plain.json()['job_id']}").json()["model_id"] == "prior"
    told = client.post(
        "/denoise", data={"noise_sigma": "12.5", "planes": "three"}, files=_files(file=nifti_path)
    )
    assert told.status_code == 202, told.text
    assert queue.submitted[1][0].payload["options"] == {"noise_sigma": 12.5, "planes": "three"}
    scratch = client.post("/denoise", data={"fit": "true", "scratch": "true"}, files=_files(file=nifti_path))
    assert scratch.status_code == 202, scratch.text
    assert queue.submitted[2][0].payload["config"]["start"] == "scratch"
    refused = client.post(
        "/denoise", data={"method": "n2v", "noise_sigma": "5"}, files=_files(file=nifti_path)
    )
    assert refused.status_code == 422 and "n2v takes neither" in refused.json()["detail"]
