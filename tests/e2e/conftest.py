"""Fixtures for the end-to-end tests: the real service (gateway + Celery workers) over HTTP, and volumes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from e2e_helpers import REDIS_URL, noisy_copy

from services.embedded.runtime import ServiceProcesses, embedded_service
from shared.io import write_volume
from shared.volume import Volume


@pytest.fixture(scope="session")
def e2e_volumes(small_mni_volume: Volume, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The small MNI block clean, two independent noisy copies (NIfTI), and the first as a DICOM series zip."""
    folder = tmp_path_factory.mktemp("e2e-volumes")
    first, second = noisy_copy(small_mni_volume, 1), noisy_copy(small_mni_volume, 2)
    return {
        "clean": write_volume(small_mni_volume, folder / "clean.nii.gz"),
        "noisy": write_volume(first, folder / "noisy.nii.gz"),
        "noisy2": write_volume(second, folder / "noisy2.nii.gz"),
        "dicom": write_volume(first, folder / "noisy_series.zip"),
    }


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcesses]:
    """Gateway + n2n, n2v and metrics workers on the real Redis, under a key prefix of their own."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    prefix = f"fdtest-{uuid.uuid4().hex[:10]}:"
    env = {"BROKER_URL": REDIS_URL, "BROKER_KEY_PREFIX": prefix, "API_KEY": ""}
    try:
        with embedded_service(tmp_path_factory.mktemp("redis-service") / "data", env=env) as service:
            yield service
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture(scope="session")
def redis_api(redis_service: ServiceProcesses) -> Iterator[httpx.Client]:
    """An HTTP client of the Redis-backed service."""
    with httpx.Client(base_url=redis_service.base_url, timeout=60.0) as api:
        yield api
