"""Fixtures for the gateway tests: the real app over a temporary data directory, with a recording queue."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue

from services.gateway.app import create_app
from services.gateway.deps import get_queue
from shared.io import write_volume
from shared.settings import Settings
from shared.volume import Volume


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings over an empty data directory, no API key, the local queue, no retention sweep (tests write
    job records with fixed dates in the past; test_gateway_retention.py sweeps on purpose)."""
    return Settings(DATA_DIR=tmp_path / "data", BROKER_URL="", API_KEY="", JOB_RETENTION_DAYS=0)


@pytest.fixture
def queue() -> RecordingQueue:
    """The recording queue the app sends to."""
    return RecordingQueue()


@pytest.fixture
def client(settings: Settings, queue: RecordingQueue) -> Iterator[TestClient]:
    """The real gateway app with the recording queue."""
    app = create_app(settings)
    app.dependency_overrides[get_queue] = lambda: queue
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def nifti_path(small_mni_volume: Volume, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small MNI152 block (48x64x64, 2 mm) as a .nii.gz file."""
    return write_volume(small_mni_volume, tmp_path_factory.mktemp("gw") / "brain.nii.gz")


@pytest.fixture(scope="session")
def other_shape_path(small_mni_volume: Volume, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smaller block of the same anatomy, to provoke shape mismatches."""
    block = Volume(data=small_mni_volume.data[:40, :48, :48], affine=small_mni_volume.affine)
    return write_volume(block, tmp_path_factory.mktemp("gw") / "smaller.nii.gz")


@pytest.fixture
def job_folders(settings: Settings) -> Callable[[], list[Path]]:
    """Lists every job folder in the data directory (hidden ones included)."""

    def folders() -> list[Path]:
        root = Path(settings.DATA_DIR) / "jobs"
        return sorted(root.iterdir()) if root.is_dir() else []

    return folders
