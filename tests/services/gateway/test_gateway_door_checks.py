"""Refusals the worker made late are made at the door: a 422 before anything is queued or left on disk."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue

from shared.volume import Volume

CLEAN_TARGETS = (
    "targets='clean' (Noise2Clean) needs clean volumes with synthetic noise; real noisy scans have none"
)


@pytest.mark.parametrize(
    ("route", "form", "detail"),
    [
        ("/denoise", {"method": "n2n", "params": json.dumps({"targets": "clean"})}, CLEAN_TARGETS),
        ("/train", {"method": "n2n", "params": json.dumps({"targets": "clean"})}, CLEAN_TARGETS),
        (
            "/denoise",
            {"method": "n2n", "repeats": "true"},
            "brain.nii.gz: repeats needs a series of at least 2 repeated volumes, got one volume",
        ),
        (
            "/train",
            {"method": "n2n", "repeats": "true"},
            "brain.nii.gz: repeats needs a series of at least 2 repeated volumes, got one volume",
        ),
    ],
    ids=[
        "fit, clean targets",
        "train, clean targets",
        "fit, repeats on a volume",
        "train, repeats on a volume",
    ],
)
def test_what_the_worker_refused_late_is_a_422_at_once(
    route: str,
    form: dict[str, str],
    detail: str,
    client: TestClient,
    queue: RecordingQueue,
    nifti_path: Path,
    job_folders: Callable[[], list[Path]],
):
    """Noise2Clean without clean volumes, repeats on a single volume: refused with the worker's own words."""
    field = "file" if route == "/denoise" else "files"
    response = client.post(route, data=form, files={field: ("brain.nii.gz", nifti_path.read_bytes())})
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": detail}
    assert queue.submitted == [] and job_folders() == []


def test_clean_targets_with_clean_volumes_are_accepted(
    client: TestClient, queue: RecordingQueue, nifti_path: Path
):
    """With sigma (the files are clean, noise is added) Noise2Clean is what the user asked for: queued."""
    response = client.post(
        "/train",
        data={"method": "n2n", "sigma": "20", "params": json.dumps({"targets": "clean", "epochs": 1})},
        files={"files": ("brain.nii.gz", nifti_path.read_bytes())},
    )
    assert response.status_code == 202, response.text
    assert len(queue.submitted) == 1


def test_keep_dtype_of_a_npy_upload_is_a_422(
    client: TestClient,
    queue: RecordingQueue,
    small_mni_volume: Volume,
    job_folders: Callable[[], list[Path]],
):
    """The result of a .npy upload is a float32 .npy: keep_dtype cannot be honoured, so it is refused before
    the job runs (it failed at the end of the fit), saying what to upload instead."""
    buffer = io.BytesIO()
    np.save(buffer, small_mni_volume.data)
    response = client.post(
        "/denoise",
        data={"method": "n2v", "keep_dtype": "true"},
        files={"file": ("brain.npy", buffer.getvalue())},
    )
    assert response.status_code == 422, response.text
    assert response.json() == {
        "detail": "result.npy: a .npy output is float32; keeping the input's data type needs a NIfTI upload "
        "(the result has the upload's format)"
    }
    assert queue.submitted == [] and job_folders() == []
