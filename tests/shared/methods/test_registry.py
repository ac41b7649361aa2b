"""A method is declared once: a toy third method, registered for a test, works through the CLI and the API."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from cli.main import main
from services.embedded.runtime import embedded_service
from shared.io import read_volume, write_volume
from shared.methods import parse_config
from shared.methods.registry import EXTRA_METHODS_ENV, method_names, registered
from shared.queue.names import queues, routes
from shared.volume import Volume
from tests.shared.methods.toy_method import TOY, ToyConfig

NO_REDIS = {"BROKER_URL": "", "RESULT_BACKEND": "", "API_KEY": ""}


@pytest.fixture
def noisy_path(small_mni_volume: Volume, tmp_path: Path) -> Path:
    """The small MNI block with Gaussian noise, as a NIfTI file."""
    rng = np.random.default_rng(0)
    noisy = small_mni_volume.data + rng.normal(0, 20, small_mni_volume.shape).astype(np.float32)
    return write_volume(small_mni_volume.with_data(noisy), tmp_path / "noisy.nii.gz")


def roughness(data: np.ndarray) -> float:
    """Mean absolute difference of neighbouring voxels along the last axis (a box filter lowers it)."""
    return float(np.abs(np.diff(data, axis=-1)).mean())


def test_a_registered_method_gets_a_queue_tasks_and_a_config():
    """One registry entry gives the method its name, queue, task routes and validated config."""
    assert "toy" not in method_names()
    with registered(TOY):
        assert method_names()[-1] == "toy" and "toy" in queues()
        assert routes()["toy.denoise"] == routes()["toy.train"] == "toy"
        assert parse_config("toy", {"size": 5}) == ToyConfig(size=5)
    assert "toy" not in method_names() and "toy" not in queues()


def test_a_registered_method_denoises_through_the_cli(noisy_path: Path, tmp_path: Path, capsys):
    """`fetal-denoise denoise --method toy` fits (the toy has no prior) and writes a smoother volume."""
    out = tmp_path / "out.nii.gz"
    with registered(TOY), pytest.raises(SystemExit) as done:
        main(["denoise", str(noisy_path), str(out), "--method", "toy", "--quiet"])
    assert done.value.code in (0, None), capsys.readouterr()
    noisy, denoised = read_volume(noisy_path), read_volume(out)
    assert denoised.shape == noisy.shape
    assert roughness(denoised.data) < 0.5 * roughness(noisy.data)


def test_an_unregistered_method_is_refused_by_the_cli(noisy_path: Path, tmp_path: Path, capsys):
    """Outside the registry, `--method toy` is not a choice."""
    with pytest.raises(SystemExit) as done:
        main(["denoise", str(noisy_path), str(tmp_path / "out.nii.gz"), "--method", "toy"])
    assert done.value.code == 2
    assert "'toy' is not one of" in capsys.readouterr().err


def test_a_registered_method_denoises_through_the_api(noisy_path: Path, tmp_path: Path):
    """The embedded service with the toy added by its environment variable: POST /denoise method=toy is
    queued on the toy queue, run by the toy worker, and gives a smoother volume back."""
    env = {**NO_REDIS, EXTRA_METHODS_ENV: "tests.shared.methods.toy_method:TOY"}
    with (
        registered(TOY),  # this process starts the toy's worker; the service's processes read the variable
        embedded_service(tmp_path / "data", env=env, queues=("toy",)) as service,
        httpx.Client(base_url=service.base_url, timeout=60) as api,
    ):
        with noisy_path.open("rb") as handle:
            response = api.post(
                "/denoise",
                files={"file": ("noisy.nii.gz", handle)},
                data={"method": "toy", "params": '{"size": 5}'},
            )
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        deadline = time.monotonic() + 120
        view = api.get(f"/jobs/{job_id}").json()
        while view["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            view = api.get(f"/jobs/{job_id}").json()
        assert view["status"] == "succeeded", view
        assert view["method"] == "toy"
        (tmp_path / "result.nii.gz").write_bytes(api.get(view["result"]).content)
        refused = api.post(
            "/denoise", files={"file": ("noisy.nii.gz", noisy_path.read_bytes())}, data={"method": "nope"}
        )
        assert refused.status_code == 422 and "'toy'" in refused.text
    assert roughness(read_volume(tmp_path / "result.nii.gz").data) < 0.5 * roughness(
        read_volume(noisy_path).data
    )
