"""The gateway stays responsive while uploads are checked: /health answers during a burst of decodes."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from services.embedded.runtime import free_port, start_process, stop_processes, wait_until_healthy


@pytest.mark.slow
def test_health_answers_while_uploads_are_decoded(tmp_path: Path, mni_nifti_path: Path):
    """Six full-size MNI volumes posted at once (two decoded at a time, MAX_CONCURRENT_READS): /health keeps
    answering within a second meanwhile."""
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "API_KEY": "", "BROKER_URL": ""}
    command = [sys.executable, "-m", "uvicorn", "services.gateway.app:app", "--port", str(port)]
    gateway = start_process(command, env, tmp_path / "gateway.log")
    base = f"http://127.0.0.1:{port}"
    statuses: list[int] = []
    try:
        wait_until_healthy(base, gateway)
        volume = mni_nifti_path.read_bytes()

        def post() -> None:
            with httpx.Client(timeout=300) as client:
                files = {"file": ("mni.nii.gz", volume), "ground_truth": ("clean.nii.gz", volume)}
                statuses.append(
                    client.post(f"{base}/denoise", data={"method": "n2v"}, files=files).status_code
                )

        posts = [threading.Thread(target=post) for _ in range(6)]
        for thread in posts:
            thread.start()
        latencies = []
        with httpx.Client(timeout=30) as client:
            while any(thread.is_alive() for thread in posts):
                started = time.monotonic()
                assert client.get(f"{base}/health").status_code == 200
                latencies.append(time.monotonic() - started)
                time.sleep(0.1)
        for thread in posts:
            thread.join()
    finally:
        stop_processes([gateway])
    assert statuses == [202] * 6
    assert len(latencies) >= 5 and max(latencies) < 1.0, latencies
