"""The gateway as a user meets it: HTTP with the X-API-Key header, jobs polled until they finish."""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from typing import Any

import httpx

FINISHED = frozenset({"succeeded", "failed"})


class Api:
    """An HTTP client of one gateway, with the API key on every request."""

    def __init__(self, base_url: str, api_key: str, ca_file: Path | None = None) -> None:
        """`ca_file`: the certificate an https front's is verified against (the stack's proxy)."""
        self.base_url = base_url
        self.verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        """What a request without the key (httpx.get) verifies the front with."""
        self.client = httpx.Client(
            base_url=base_url, headers={"X-API-Key": api_key}, timeout=120.0, verify=self.verify
        )
        self.hiccups: list[str] = []
        """Answers a poll got while a fault was on (no gateway, 5xx): what a user would have seen."""

    def submit(self, path: str, data: dict[str, str], files: list[tuple[str, Path]]) -> dict[str, Any]:
        """POST a multipart job request; its 202 answer (job_id, status_url, model_id)."""
        uploads = [(field, (file.name, file.read_bytes())) for field, file in files]
        response = self.client.post(path, data=data, files=uploads)
        if response.status_code != 202:
            raise AssertionError(f"POST {path}: {response.status_code} {response.text}")
        return response.json()

    def job(self, job_id: str) -> dict[str, Any]:
        """GET /jobs/{id}."""
        response = self.client.get(f"/jobs/{job_id}")
        if response.status_code != 200:
            raise AssertionError(f"GET /jobs/{job_id}: {response.status_code} {response.text}")
        return response.json()

    def wait(self, job_id: str, timeout_s: float = 600.0) -> dict[str, Any]:
        """Poll until the job has finished; its last view (AssertionError after `timeout_s`).

        While a fault is on (the gateway or Redis restarting) a poll may find no gateway or get a 5xx: the
        user would poll again, so this does too, and keeps each such answer in `hiccups` for the summary.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                response = self.client.get(f"/jobs/{job_id}")
                if response.status_code >= 500:
                    detail = response.json().get("detail", "") if response.text.startswith("{") else ""
                    self.hiccups.append(f"{response.status_code} {str(detail).split(':')[0]}".strip())
                    view = {"status": "unreachable"}
                else:
                    view = self.job(job_id) if response.status_code != 200 else response.json()
            except httpx.TransportError as exc:
                self.hiccups.append(type(exc).__name__)
                view = {"status": "unreachable"}
            if view["status"] in FINISHED:
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} not finished after {timeout_s:.0f} s: {view}")
            time.sleep(0.5)

    def wait_for_epoch(self, job_id: str, epoch: int, timeout_s: float = 600.0) -> dict[str, Any]:
        """Poll until a training job reports at least `epoch` finished epochs (or has finished)."""
        deadline = time.monotonic() + timeout_s
        while True:
            view = self.job(job_id)
            progress = view.get("progress") or {}
            trained = progress.get("stage") == "training" and (progress.get("epoch") or 0) >= epoch
            if trained or view["status"] in FINISHED:
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} not at epoch {epoch} after {timeout_s:.0f} s: {view}")
            time.sleep(0.3)

    def download(self, url: str) -> httpx.Response:
        """GET a result URL; the response (AssertionError unless 200)."""
        response = self.client.get(url)
        if response.status_code != 200:
            raise AssertionError(f"GET {url}: {response.status_code} {response.text[:200]}")
        return response
