"""Helpers of the end-to-end tests (a module name of its own, so no other test folder can shadow it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from shared.intensity import IntensityMapping
from shared.noise import add_noise
from shared.volume import Volume

REDIS_URL = "redis://127.0.0.1:6379/0"
SIGMA = 30.0
"""Noise of the test uploads, on the 0-255 scale of the normalised range."""


def noisy_copy(clean: Volume, seed: int) -> Volume:
    """`clean` with Gaussian noise of SIGMA (0-255 scale of its own normalised range), same geometry."""
    mapping = IntensityMapping.min_max(clean.data)
    noisy = add_noise(mapping.normalise(clean.data), SIGMA, np.random.default_rng(seed))
    return clean.with_data(mapping.denormalise(noisy))


def wait_for(
    api: httpx.Client, job_id: str, timeout_s: float = 240.0, until: set[str] | None = None
) -> dict[str, Any]:
    """Poll GET /jobs/{id} until its status is in `until` (default: finished); return the last view."""
    until = until or {"succeeded", "failed"}
    deadline = time.monotonic() + timeout_s
    while True:
        response = api.get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.text
        view = response.json()
        if view["status"] in until or time.monotonic() > deadline:
            return view
        time.sleep(0.3)


def upload(*fields: tuple[str, Path]) -> list[tuple[str, tuple[str, bytes]]]:
    """Multipart file fields (a field may repeat, as /train's files do)."""
    return [(field, (path.name, path.read_bytes())) for field, path in fields]


def wait_for_stage(api: httpx.Client, job_id: str, stage: str, timeout_s: float = 240.0) -> dict[str, Any]:
    """Poll GET /jobs/{id} until the job runs the given progress stage (or has finished); return the view."""
    deadline = time.monotonic() + timeout_s
    while True:
        view = api.get(f"/jobs/{job_id}").json()
        running_stage = view["status"] == "running" and (view["progress"] or {}).get("stage") == stage
        if running_stage or view["status"] in {"succeeded", "failed"} or time.monotonic() > deadline:
            return view
        time.sleep(0.2)


def wait_until_gone(path: Path, timeout_s: float = 60.0) -> bool:
    """Wait for `path` to disappear; whether it did."""
    deadline = time.monotonic() + timeout_s
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.3)
    return not path.exists()
