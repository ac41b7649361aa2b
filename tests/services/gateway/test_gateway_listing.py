"""GET /jobs and GET /models: newest first, a page at a time, with cursors that survive new arrivals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue

from services.gateway.jobqueue import TaskState
from shared.jobs.store import JobRecord, JobStep, mark_cancelled, write_record
from shared.manifest import write_manifest
from shared.settings import Settings

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _job(settings: Settings, job_id: str, minutes: int, kind: str = "denoise") -> JobRecord:
    """A job record accepted `minutes` after START, with one denoise step and a metrics step."""
    steps = [JobStep(name="denoise", task="n2v.denoise", task_id=f"{job_id}-denoise")]
    steps.append(JobStep(name="metrics", task="metrics.evaluate", task_id=f"{job_id}-metrics"))
    record = JobRecord(
        id=job_id,
        kind=kind,  # type: ignore[arg-type]
        method="n2v",
        created=START + timedelta(minutes=minutes),
        steps=steps,
        inputs={"file": f"{job_id}.nii.gz"},
        input_format="nifti",
        result="result.nii.gz",
    )
    write_record(Path(settings.DATA_DIR), record)
    return record


def _pages(client: TestClient, url: str, limit: int) -> list[list[str]]:
    """Follow next_cursor from the first page to the last; the ids of each page."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        body = client.get(url, params=params).json()
        key = "job_id" if url == "/jobs" else "id"
        pages.append([item[key] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_jobs_are_listed_newest_first_a_page_at_a_time(client: TestClient, settings: Settings):
    """Five jobs in pages of two: newest first, each once, and no cursor after the last page."""
    for minutes, job_id in enumerate(["a1", "b2", "c3", "d4", "e5"]):
        _job(settings, job_id, minutes)
    assert _pages(client, "/jobs", 2) == [["e5", "d4"], ["c3", "b2"], ["a1"]]
    assert _pages(client, "/jobs", 100) == [["e5", "d4", "c3", "b2", "a1"]]


def test_a_job_accepted_between_pages_does_not_shift_the_next_page(client: TestClient, settings: Settings):
    """The cursor names the last job seen: a newer job appears on a fresh first page, not in the next one."""
    for minutes, job_id in enumerate(["a1", "b2", "c3", "d4"]):
        _job(settings, job_id, minutes)
    first = client.get("/jobs", params={"limit": 2}).json()
    _job(settings, "f6", 60)
    second = client.get("/jobs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [item["job_id"] for item in second["items"]] == ["b2", "a1"]
    assert client.get("/jobs", params={"limit": 1}).json()["items"][0]["job_id"] == "f6"


def test_listed_jobs_carry_their_live_status_but_no_file_names(
    client: TestClient, settings: Settings, queue: RecordingQueue
):
    """Each item has status, step and progress from the queue; file names stay in the job's own view."""
    _job(settings, "done1", 0)
    _job(settings, "busy2", 1)
    queue.states["done1-denoise"] = TaskState("SUCCESS", {"result": "x"})
    queue.states["done1-metrics"] = TaskState("SUCCESS", {"data_range": 1.0, "volume": {}})
    queue.states["busy2-denoise"] = TaskState(
        "PROGRESS", {"job_step": "denoise", "stage": "training", "fraction": 0.25, "epoch": 1, "epochs": 4}
    )
    busy, done = client.get("/jobs").json()["items"]
    assert (busy["status"], busy["step"], busy["progress"]["fraction"]) == ("running", "denoise", 0.25)
    assert (done["status"], done["result"], done["has_metrics"]) == ("succeeded", "/jobs/done1/result", True)
    assert "done1.nii.gz" not in str(done)
    assert client.get("/jobs/done1").json()["inputs"] == {"file": "done1.nii.gz"}


def test_cancelled_jobs_are_not_listed(client: TestClient, settings: Settings):
    """A cancelled job (tombstone) is gone from the list as from GET /jobs/{id}."""
    _job(settings, "keep1", 0)
    _job(settings, "gone2", 1)
    mark_cancelled(Path(settings.DATA_DIR), "gone2")
    assert [item["job_id"] for item in client.get("/jobs").json()["items"]] == ["keep1"]


def test_bad_cursor_and_limit_are_refused(client: TestClient, settings: Settings):
    """A cursor not of the declared shape, or a limit out of 1-100, is a 422 saying so."""
    _job(settings, "a1", 0)
    for cursor in ("not-a-cursor", "WyJ4IiwgInkiXQ", "bnVsbA", "20260101T000000000000Z.", "2026.a1"):
        response = client.get("/jobs", params={"cursor": cursor})
        assert response.status_code == 422, cursor
        assert response.json()["detail"].startswith("cursor: String should match pattern"), cursor
    for limit in (0, 101):
        assert client.get("/jobs", params={"limit": limit}).status_code == 422
        assert client.get("/models", params={"limit": limit}).status_code == 422


def test_models_are_listed_newest_first_a_page_at_a_time(client: TestClient, settings: Settings):
    """Three registered models in pages of two, newest first, each with its manifest's summary."""
    for index, model_id in enumerate(["n2v-old", "n2n-mid", "n2v-new"]):
        folder = Path(settings.DATA_DIR) / "models" / model_id
        folder.mkdir(parents=True)
        (folder / "w.bin").write_bytes(b"w")
        write_manifest(
            folder,
            method=model_id[:3],  # type: ignore[arg-type]
            framework="test 1.0",
            config={"epochs": index + 1},
            data={"shapes": [[48, 64, 64]], "sigma": 20.0},
            validation={"val_psnr": 30.0 + index},
            files=["w.bin"],
        )
    assert _pages(client, "/models", 2) == [["n2v-new", "n2n-mid"], ["n2v-old"]]
    newest = client.get("/models", params={"limit": 1}).json()["items"][0]
    assert newest["validation"]["val_psnr"] == 32.0 and newest["data"]["sigma"] == 20.0


def test_any_cursor_of_the_declared_shape_is_a_position(client: TestClient, settings: Settings):
    """Every cursor the schema admits is answered: a page of what is older than the time and id it names."""
    _job(settings, "a1", 0)
    for cursor, expected in (
        ("99991231T235959999999Z.zz", ["a1"]),
        ("00000000T000000000000Z.0", []),
    ):
        response = client.get("/jobs", params={"cursor": cursor})
        assert response.status_code == 200, cursor
        assert [item["job_id"] for item in response.json()["items"]] == expected
        assert client.get("/models", params={"cursor": cursor}).status_code == 200
