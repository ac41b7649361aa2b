"""The metrics worker for real: a Celery worker process on the local queue, tasks sent by name."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from services.embedded.runtime import (
    prepare_data_dir,
    service_environment,
    start_process,
    stop_processes,
    worker_command,
)
from services.gateway.jobqueue import CeleryJobQueue, TaskCall, TaskState
from shared.io import write_volume
from shared.metrics import evaluate
from shared.queue.names import METRICS_EVALUATE
from shared.queue.payloads import MetricsPayload, VolumeInput
from shared.volume import Volume

pytestmark = pytest.mark.slow
WORKER_HOST = "host-b"
"""The worker's node name says where a job ran (GET /jobs/{id} `workers`): set here, read back below."""


@pytest.fixture(scope="module")
def metrics_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, CeleryJobQueue]]:
    """A metrics worker on a local queue in a fresh data directory, and a queue client for it."""
    data_dir = tmp_path_factory.mktemp("metrics-worker") / "data"
    env = service_environment(data_dir, {"BROKER_URL": "", "RESULT_BACKEND": ""})
    settings = prepare_data_dir(env)
    command = worker_command("metrics", local=True, name=f"metrics@{WORKER_HOST}")
    worker = start_process(command, env, data_dir / "worker.log")
    try:
        yield Path(settings.DATA_DIR), CeleryJobQueue.from_settings(settings)
    finally:
        stop_processes([worker])


def _run(queue: CeleryJobQueue, payload: MetricsPayload, timeout_s: float = 60.0) -> TaskState:
    """Send one metrics task and wait for it to finish."""
    task_id = f"{payload.job_id}-metrics"
    queue.submit([TaskCall(name=METRICS_EVALUATE, task_id=task_id, payload=payload.model_dump(mode="json"))])
    deadline = time.monotonic() + timeout_s
    while (state := queue.state(task_id)).state not in {"SUCCESS", "FAILURE"} and time.monotonic() < deadline:
        time.sleep(0.2)
    return state


def test_metrics_task_scores_and_writes_the_report(
    metrics_worker: tuple[Path, CeleryJobQueue], small_mni_volume: Volume
):
    """The worker returns shared.metrics' report and writes it, atomically, as jobs/<id>/metrics.json."""
    data_dir, queue = metrics_worker
    noisy = small_mni_volume.with_data(
        small_mni_volume.data + np.random.default_rng(0).normal(0, 0.05, small_mni_volume.shape)
    )
    write_volume(small_mni_volume, data_dir / "jobs" / "m1" / "clean.nii.gz")
    write_volume(noisy, data_dir / "jobs" / "m1" / "noisy.nii.gz")
    payload = MetricsPayload(
        job_id="m1",
        prediction=VolumeInput(path="jobs/m1/noisy.nii.gz", name="noisy.nii.gz"),
        reference=VolumeInput(path="jobs/m1/clean.nii.gz", name="clean.nii.gz"),
        report="jobs/m1/metrics.json",
    )
    state = _run(queue, payload)
    assert state.state == "SUCCESS", state.info
    assert state.worker == f"metrics@{WORKER_HOST}"
    expected = evaluate(noisy.data, small_mni_volume.data)
    assert state.info["volume"]["psnr"] == pytest.approx(expected.volume.psnr, abs=1e-9)
    assert (
        json.loads((data_dir / "jobs" / "m1" / "metrics.json").read_text())["volume"] == state.info["volume"]
    )


def test_metrics_task_fails_with_the_reason(
    metrics_worker: tuple[Path, CeleryJobQueue], small_mni_volume: Volume
):
    """Volumes of different shapes fail the task at once, with a message naming both files."""
    data_dir, queue = metrics_worker
    write_volume(small_mni_volume, data_dir / "jobs" / "m2" / "a.nii.gz")
    smaller = Volume(data=small_mni_volume.data[:40], affine=small_mni_volume.affine)
    write_volume(smaller, data_dir / "jobs" / "m2" / "b.nii.gz")
    payload = MetricsPayload(
        job_id="m2",
        prediction=VolumeInput(path="jobs/m2/b.nii.gz", name="b.nii.gz"),
        reference=VolumeInput(path="jobs/m2/a.nii.gz", name="a.nii.gz"),
        report="jobs/m2/metrics.json",
    )
    state = _run(queue, payload)
    assert state.state == "FAILURE"
    assert (
        str(state.info)
        == "b.nii.gz has shape (40, 64, 64) but a.nii.gz has shape (48, 64, 64); they must match"
    )
    assert not (data_dir / "jobs" / "m2" / "metrics.json").exists()
