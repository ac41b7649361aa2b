"""Faults on the Redis mode, each against a Redis the test starts and stops itself (never the machine's own):
a Redis outage mid-training, a worker's main process killed, a job that keeps killing its worker."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from e2e_helpers import upload, wait_for, wait_for_stage
from own_redis import OwnRedis

from services.embedded.runtime import ServiceProcesses, embedded_service

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

VISIBILITY_S = 15
"""A short lease, so a job of a dead worker comes back within seconds in these tests (default: 600 s)."""
FIT = {"epochs": 4, "crop_size": 32, "batch_size": 4, "steps_per_epoch": 4, "seed": 0}


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnRedis]:
    """A Redis of this module's own, on a free port, with an append-only file."""
    server = OwnRedis(tmp_path_factory.mktemp("own-redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def service(own_redis: OwnRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcesses]:
    """Gateway + n2n and metrics workers on that Redis, with a short lease and one retry after a crash."""
    env = {
        "BROKER_URL": own_redis.url,
        "RESULT_BACKEND": "",
        "API_KEY": "",
        "VISIBILITY_TIMEOUT": str(VISIBILITY_S),
        "JOB_RETRIES": "1",
    }
    data = tmp_path_factory.mktemp("faults") / "data"
    with embedded_service(data, env=env, queues=("n2n", "metrics")) as running:
        yield running


@pytest.fixture(scope="module")
def api(service: ServiceProcesses) -> Iterator[httpx.Client]:
    """An HTTP client of the service."""
    with httpx.Client(base_url=service.base_url, timeout=60.0) as client:
        yield client


def _fit(api: httpx.Client, volumes: dict[str, Path], params: dict[str, object]) -> str:
    """Queue an N2N fit on the noisy pair; its job id."""
    response = api.post(
        "/denoise",
        data={"method": "n2n", "params": json.dumps(params)},
        files=upload(("file", volumes["noisy"]), ("file2", volumes["noisy2"])),
    )
    assert response.status_code == 202, response.text
    return str(response.json()["job_id"])


def test_a_redis_outage_mid_training_fails_no_job(
    api: httpx.Client, own_redis: OwnRedis, e2e_volumes: dict[str, Path]
):
    """Redis down 30 s while a job trains: the gateway answers 503 at once, without Redis' address or
    Celery's words, /health says the broker is down; once Redis is back the job finishes, succeeded."""
    job_id = _fit(api, e2e_volumes, FIT)
    view = wait_for_stage(api, job_id, "training")
    assert view["status"] == "running", view

    own_redis.stop()
    try:
        outage_started = time.monotonic()
        started = time.monotonic()
        refused = api.post(
            "/metrics",
            files=upload(("prediction", e2e_volumes["noisy"]), ("ground_truth", e2e_volumes["clean"])),
        )
        assert refused.status_code == 503 and time.monotonic() - started < 8.0
        detail = refused.json()["detail"]
        assert (
            detail == "the job queue cannot be reached right now; nothing was queued: try again in a minute"
        )
        assert refused.headers["retry-after"] == "30"
        assert api.get(f"/jobs/{job_id}").status_code == 503
        health = api.get("/health").json()
        assert health["status"] == "degraded" and set(health["workers"].values()) == {"unknown"}
        time.sleep(max(0.0, 30.0 - (time.monotonic() - outage_started)))
    finally:
        own_redis.start()
    final = wait_for(api, job_id, timeout_s=300)
    assert final["status"] == "succeeded", final


def test_a_killed_worker_main_process_does_not_leave_its_job_running(
    api: httpx.Client, service: ServiceProcesses, e2e_volumes: dict[str, Path]
):
    """SIGKILL of the n2n worker's main process mid-training: the worker is restarted, the job's lease runs
    out after VISIBILITY_TIMEOUT and it runs again, finishing within minutes (it used to wait 12 h)."""
    job_id = _fit(api, e2e_volumes, FIT)
    assert wait_for_stage(api, job_id, "training")["status"] == "running"
    main = service.workers["n2n"].pid
    killed_at = time.monotonic()
    os.kill(main, signal.SIGKILL)
    final = wait_for(api, job_id, timeout_s=300)
    assert final["status"] == "succeeded", final
    assert service.workers["n2n"].pid != main
    assert time.monotonic() - killed_at > VISIBILITY_S  # it did wait for the lease to run out, not less


def test_a_job_that_keeps_killing_its_worker_fails_with_a_clear_message(
    api: httpx.Client, service: ServiceProcesses, e2e_volumes: dict[str, Path]
):
    """The pool child killed each time the job runs (as the kernel's OOM killer does): retried JOB_RETRIES
    times (here 1), then failed, saying so, instead of redelivered for ever."""
    job_id = _fit(api, e2e_volumes, FIT)
    for _ in range(2):
        view = wait_for_stage(api, job_id, "training")
        assert view["status"] == "running", view
        [child] = service.worker_children("n2n")
        os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while child in service.worker_children("n2n") and time.monotonic() < deadline:
            time.sleep(0.2)
    final = wait_for(api, job_id, timeout_s=120)
    assert final["status"] == "failed", final
    assert final["error"].startswith("the worker process running this job died each time it was tried (")
    assert "out of memory" in final["error"]
