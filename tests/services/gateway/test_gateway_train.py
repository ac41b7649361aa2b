"""POST /train: the training modes, what is queued, and what is refused before queuing."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue

from shared.queue.names import train_task

N2N_TRAIN, N2V_TRAIN = train_task("n2n"), train_task("n2v")


def _files(*fields: tuple[str, Path]) -> list[tuple[str, tuple[str, bytes]]]:
    """Repeated multipart file fields."""
    return [(field, (path.name, path.read_bytes())) for field, path in fields]


def test_n2n_from_clean_and_sigma_is_queued_with_a_model_id(
    client: TestClient, queue: RecordingQueue, nifti_path: Path
):
    """Clean volumes + sigma: 202 with the model's future id; the payload carries sigma and the params."""
    response = client.post(
        "/train",
        data={"method": "n2n", "sigma": "25", "params": json.dumps({"epochs": 2})},
        files=_files(("files", nifti_path), ("files", nifti_path)),
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["model_id"].startswith("n2n-")
    [[call]] = queue.submitted
    assert call.name == N2N_TRAIN
    assert (call.payload["sigma"], len(call.payload["inputs"])) == (25.0, 2)
    assert (call.payload["config"]["method"], call.payload["config"]["epochs"]) == ("n2n", 2)
    assert call.payload["model_id"] == body["model_id"]
    view = client.get(body["status_url"]).json()
    assert (view["kind"], view["status"], view["model_id"]) == ("train", "queued", body["model_id"])


def test_n2v_on_noisy_volumes_is_queued(client: TestClient, queue: RecordingQueue, nifti_path: Path):
    """N2V trains on noisy volumes alone."""
    response = client.post("/train", data={"method": "n2v"}, files=_files(("files", nifti_path)))
    assert response.status_code == 202, response.text
    assert queue.submitted[0][0].name == N2V_TRAIN


def test_n2n_takes_at_most_one_source_of_pairs(client: TestClient, queue: RecordingQueue, nifti_path: Path):
    """n2n with two of sigma, files2 and repeats is 422; with none, each file is a single scan (queued)."""
    both = client.post(
        "/train",
        data={"method": "n2n", "sigma": "20"},
        files=_files(("files", nifti_path), ("files2", nifti_path)),
    )
    assert both.status_code == 422
    assert both.json()["detail"] == (
        "n2n training takes at most one of sigma (files are clean; noise is added), files2 (a second noisy "
        "acquisition of each file) or repeats (each file a series of repeated acquisitions); with none, each "
        "file is a single noisy scan, paired with recorrupted copies of itself"
    )
    assert queue.submitted == []
    single = client.post("/train", data={"method": "n2n"}, files=_files(("files", nifti_path)))
    assert single.status_code == 202 and len(queue.submitted) == 1


def test_unpaired_files2_are_422(client: TestClient, queue: RecordingQueue, nifti_path: Path):
    """files2 must pair with files one to one."""
    response = client.post(
        "/train",
        data={"method": "n2n"},
        files=_files(("files", nifti_path), ("files", nifti_path), ("files2", nifti_path)),
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "files2 must pair with files one to one: got 2 files and 1 files2"
    assert queue.submitted == []


def test_out_of_range_hyper_parameters_are_422(client: TestClient, queue: RecordingQueue, nifti_path: Path):
    """Hyper-parameters are checked by the worker's own config before anything is queued."""
    response = client.post(
        "/train",
        data={"method": "n2n", "sigma": "20", "params": json.dumps({"crop_size": 40})},
        files=_files(("files", nifti_path)),
    )
    assert response.status_code == 422
    assert (
        response.json()["detail"]
        == "invalid n2n config: crop_size: Value error, crop_size must be a multiple of 32, got 40"
    )
    assert queue.submitted == []


def test_n2v_training_is_queued_with_the_tuned_defaults_or_the_papers(
    client: TestClient, queue: RecordingQueue, nifti_path: Path
):
    """POST /train n2v queues no batch norm, a 0.3 lr ramp-down and 1.5% blind spots (what a fit uses);
    `paper` queues the paper's batch norm and plateau schedule; params apply over either."""
    tuned = client.post("/train", data={"method": "n2v"}, files=_files(("files", nifti_path)))
    paper = client.post(
        "/train",
        data={"method": "n2v", "paper": "true", "params": json.dumps({"epochs": 2})},
        files=_files(("files", nifti_path)),
    )
    assert (tuned.status_code, paper.status_code) == (202, 202), (tuned.text, paper.text)
    [[first], [second]] = queue.submitted
    fields = ("batch_norm", "rampdown", "n2v_perc_pix", "epochs")
    assert tuple(first.payload["config"][f] for f in fields) == (False, 0.3, 1.5, 150)
    assert tuple(second.payload["config"][f] for f in fields) == (True, 0.0, 1.5, 2)
