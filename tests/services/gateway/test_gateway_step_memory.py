"""A fit or training one step of which would not fit a worker's memory (WORKER_MEMORY_BYTES) is a 422 at
the door, naming what fits, before anything is stored or queued (issue 23: such a step killed its worker
on every try)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue


@pytest.mark.parametrize(
    ("route", "method", "params", "fits"),
    [
        ("/denoise", "n2v", {"batch_size": 1024, "epochs": 1, "steps_per_epoch": 1}, "batch_size <= "),
        ("/denoise", "n2n", {"batch_size": 512, "epochs": 1, "steps_per_epoch": 1}, "batch_size <= "),
        ("/train", "n2v", {"unet_n_first": 256, "unet_n_depth": 5, "epochs": 1}, "unet_n_first <= "),
    ],
    ids=["fit, n2v batch 1024", "fit, n2n batch 512", "train, n2v 256 filters depth 5"],
)
def test_a_step_larger_than_a_worker_is_a_422_naming_what_fits(
    route: str,
    method: str,
    params: dict[str, int],
    fits: str,
    client: TestClient,
    queue: RecordingQueue,
    nifti_path: Path,
    job_folders: Callable[[], list[Path]],
):
    field = "file" if route == "/denoise" else "files"
    response = client.post(
        route,
        data={"method": method, "params": json.dumps(params)},
        files={field: ("brain.nii.gz", nifti_path.read_bytes())},
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert f"one training step of this {method} config needs about" in detail
    assert "(WORKER_MEMORY_BYTES)" in detail and fits in detail
    assert queue.submitted == [] and job_folders() == []
