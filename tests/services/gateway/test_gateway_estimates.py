"""GET /estimates/fit: the expected training time of a fit, from the fits this server has finished."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.gateway.fit_history import FIT_MODEL_DIR
from shared.manifest import write_manifest
from shared.settings import Settings


def _fit(
    settings: Settings, job_id: str, method: str, config: dict[str, Any], validation: dict[str, Any]
) -> None:
    """A finished fit's model folder where the workers leave it: jobs/<id>/model/."""
    folder = Path(settings.DATA_DIR) / "jobs" / job_id / FIT_MODEL_DIR
    folder.mkdir(parents=True)
    (folder / "w.bin").write_bytes(b"w")
    write_manifest(
        folder,
        method=method,
        framework="test",
        config=config,
        data={},
        validation=validation,
        files=["w.bin"],
    )  # type: ignore[arg-type]


def _estimate(client: TestClient, method: str, epochs: int, steps: int) -> dict[str, Any]:
    """The estimate of a budget."""
    response = client.get(
        "/estimates/fit", params={"method": method, "epochs": epochs, "steps_per_epoch": steps}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_no_history_gives_no_number(client: TestClient):
    """Before any fit has finished, the estimate says so instead of guessing."""
    body = _estimate(client, "n2v", 20, 50)
    assert (body["steps"], body["seconds"], body["source"], body["based_on"]) == (1000, None, "none", 0)
    assert body["note"] == "No n2v fit has finished on this server yet; the first one sets the rate."


def test_estimate_uses_the_median_rate_of_the_methods_finished_fits(client: TestClient, settings: Settings):
    """Rates of 10, 20 and 40 steps/s give 20 steps/s: 1000 steps in 50 s; the other method's fits do not
    count, and have their own rate."""
    for job_id, seconds in (("a", 10.0), ("b", 5.0), ("c", 2.5)):  # 2 x 50 = 100 steps each
        _fit(settings, job_id, "n2v", {"steps_per_epoch": 50}, {"epochs_trained": 2, "seconds": seconds})
    _fit(settings, "d", "n2n", {"steps_per_epoch": 10}, {"epochs_trained": 2, "seconds": 10.0})  # 2 steps/s
    n2v = _estimate(client, "n2v", 20, 50)
    assert n2v["steps_per_second"] == pytest.approx(20.0) and n2v["seconds"] == pytest.approx(50.0)
    assert (n2v["source"], n2v["based_on"]) == ("job history", 3)
    assert "median rate of the last 3 fits of n2v on this server: 20 steps/s" in n2v["note"]
    n2n = _estimate(client, "n2n", 5, 10)
    assert n2n["steps_per_second"] == pytest.approx(2.0) and n2n["seconds"] == pytest.approx(25.0)


def test_fit_folder_is_where_the_workers_train():
    """The gateway looks for finished fits where the worker's task shell trains them."""
    from shared.worker.jobs import WORK_DIR

    assert FIT_MODEL_DIR == WORK_DIR


def test_fits_without_a_known_budget_are_left_out(client: TestClient, settings: Settings):
    """A fit whose steps per epoch were derived from the data (not recorded) cannot give a rate."""
    _fit(settings, "a", "n2v", {"steps_per_epoch": None}, {"epochs_trained": 2, "seconds": 3.0})
    assert _estimate(client, "n2v", 1, 1)["source"] == "none"


def test_budget_out_of_range_is_refused(client: TestClient):
    """Epochs and steps must be positive; the method n2n or n2v."""
    for params in (
        {"method": "n2v", "epochs": 0, "steps_per_epoch": 5},
        {"method": "bm3d", "epochs": 1, "steps_per_epoch": 1},
    ):
        assert client.get("/estimates/fit", params=params).status_code == 422
