"""With Redis unreachable, the gateway's real queue client answers 503 at once and keeps nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from services.embedded.runtime import free_port
from services.gateway.app import create_app
from shared.settings import Settings


def test_an_unreachable_broker_is_503_at_once_every_time(
    settings: Settings, nifti_path: Path, job_folders: Callable[[], list[Path]]
):
    """POST /metrics twice and GET /jobs/{id} with nothing listening on the broker's port: 503 within
    seconds (it took 19 s), with Retry-After and a detail that names neither Redis nor its address, and the
    second POST as the first (Celery's result subscriber used to break for good: 500 from then on)."""
    port = free_port()
    settings.BROKER_URL = f"redis://127.0.0.1:{port}/0"
    volume = nifti_path.read_bytes()
    with TestClient(create_app(settings)) as client:
        for _ in range(2):
            started = time.monotonic()
            response = client.post(
                "/metrics", files={"prediction": ("a.nii.gz", volume), "ground_truth": ("b.nii.gz", volume)}
            )
            assert response.status_code == 503 and time.monotonic() - started < 5.0
            assert response.headers["retry-after"] == "30"
            detail = response.json()["detail"]
            assert (
                detail
                == "the job queue cannot be reached right now; nothing was queued: try again in a minute"
            )
        assert str(port) not in response.text and "redis" not in response.text.lower()
        assert job_folders() == []
