"""The error, progress and cancellation policy every task runs under (shared.worker.step.run_step)."""

from __future__ import annotations

import logging
import re
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import shared.worker.jobs as jobs_module
import shared.worker.step as step_module
from services.embedded.runtime import free_port
from shared.errors import (
    ConstantVolumeError,
    JobCancelledError,
    JobError,
    ModelNotFoundError,
    UnreadableVolumeError,
)
from shared.jobs.registry import ModelAccess, access_path, register_model, write_access
from shared.jobs.retention import purge_jobs
from shared.jobs.store import (
    JobRecord,
    JobStep,
    job_dir,
    mark_cancelled,
    remove_job_files,
    utcnow,
    write_record,
)
from shared.logs import configure_worker_logging
from shared.manifest import read_manifest, write_manifest
from shared.progress import Progress
from shared.queue.app import make_celery
from shared.queue.names import METRICS_EVALUATE, denoise_task, train_task
from shared.settings import Settings
from shared.worker.jobs import run_denoise_job, run_training_job
from shared.worker.step import PROGRESS_STATE, run_step

N2N_TRAIN, N2V_DENOISE = train_task("n2n"), denoise_task("n2v")


class RecordingTask:
    """Stands in for a bound Celery task: a request id, and the states its progress reports stored."""

    def __init__(self) -> None:
        self.request = SimpleNamespace(id="task-1")
        self.states: list[tuple[str, dict[str, Any]]] = []


class RecordingBackend:
    """A result store that records what each task stored."""

    def __init__(self, task: RecordingTask) -> None:
        self.task = task

    def store_result(self, task_id: str, meta: dict[str, Any], state: str, request: Any = None) -> None:
        """Record the stored state on the task it belongs to."""
        assert task_id == self.task.request.id and request is self.task.request
        self.task.states.append((state, meta))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings over a temporary data directory."""
    return Settings(DATA_DIR=tmp_path, BROKER_URL="")


def test_progress_is_published_throttled_but_stage_changes_always_show(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """Many events in a burst publish the stage changes and the end, not every event."""
    task = RecordingTask()
    monkeypatch.setattr(step_module, "progress_backend", lambda _settings: RecordingBackend(task))
    with run_step(task, "job1", "train", settings) as step:
        for i in range(100):
            step.progress(Progress(stage="training", fraction=i / 100))
        step.progress(Progress(stage="training", fraction=1.0))
    stages = [(meta["stage"], meta["fraction"]) for _, meta in task.states]
    assert (
        stages[0] == ("loading", 0.0) and stages[1] == ("training", 0.0) and stages[-1] == ("training", 1.0)
    )
    assert len(stages) < 10
    assert {state for state, _ in task.states} == {PROGRESS_STATE}
    assert all(meta["job_step"] == "train" for _, meta in task.states)


def test_progress_goes_on_without_the_result_store(tmp_path: Path):
    """With Redis away, progress reports fail fast and pause; the step runs to its end and is not failed."""
    settings = Settings(DATA_DIR=tmp_path, BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with run_step(RecordingTask(), "job1", "train", settings) as step:
        for epoch in range(200):
            step.progress(Progress(stage="training", epoch=epoch + 1, epochs=200, fraction=epoch / 200))
    assert time.monotonic() - started < 5.0  # one attempt (refused at once), then a pause: no retries


def test_input_errors_pass_through_and_others_become_job_errors(settings: Settings):
    """A bad volume keeps its own message; an unexpected crash is a JobError naming what happened."""
    with (
        pytest.raises(ConstantVolumeError, match="flat"),
        run_step(RecordingTask(), "job1", "denoise", settings),
    ):
        raise ConstantVolumeError("flat")
    with (
        pytest.raises(JobError, match="denoise failed: RuntimeError: CUDA out of memory"),
        run_step(RecordingTask(), "job1", "denoise", settings),
    ):
        raise RuntimeError("CUDA out of memory")


def test_cancellation_stops_the_step_and_removes_the_job_files(settings: Settings):
    """After DELETE /jobs (a tombstone), the next progress event stops the step and its files go."""
    folder = job_dir(Path(settings.DATA_DIR), "job1")
    folder.mkdir(parents=True)
    (folder / "input.nii").write_bytes(b"x")
    with (
        pytest.raises(JobCancelledError, match="job job1 was cancelled"),
        run_step(RecordingTask(), "job1", "train", settings) as step,
    ):
        mark_cancelled(Path(settings.DATA_DIR), "job1")
        step.progress(Progress(stage="training", fraction=0.1))
    assert not folder.exists()


def _delete_as_the_gateway_does(data_dir: Path, job_id: str) -> None:
    """DELETE /jobs/{id}'s disk actions: the tombstone, then the folder."""
    mark_cancelled(data_dir, job_id)
    remove_job_files(data_dir, job_id)


def _delete_with_tombstone_swept(data_dir: Path, job_id: str) -> None:
    """A deletion whose tombstone is gone by the time the worker looks (a later purge swept it)."""
    remove_job_files(data_dir, job_id)


def _purge_now(data_dir: Path, job_id: str) -> None:
    """`fetal-denoise purge --older-than-days 0` (the hourly sweep is the same call)."""
    assert purge_jobs(data_dir, timedelta(0)).jobs == 1


@pytest.mark.parametrize(
    "delete",
    [_delete_as_the_gateway_does, _delete_with_tombstone_swept, _purge_now],
    ids=lambda f: f.__name__,
)
def test_a_job_deleted_mid_step_leaves_nothing_on_disk(settings: Settings, delete: Any):
    """A fit deleted while it runs goes on writing its model (as a training does until its next progress
    event); when the step ends it is cancelled, and nothing of the job is left under jobs/."""
    data_dir = Path(settings.DATA_DIR)
    record = JobRecord(
        id="job1",
        kind="denoise",
        method="n2v",
        created=utcnow() - timedelta(seconds=5),
        steps=[JobStep(name="denoise", task="n2v.denoise", task_id="task-1")],
        inputs={"input": "scan.nii.gz"},
    )
    write_record(data_dir, record)
    (job_dir(data_dir, "job1") / "inputs").mkdir()
    (job_dir(data_dir, "job1") / "inputs" / "input.nii.gz").write_bytes(b"patient scan")
    with pytest.raises(JobCancelledError), run_step(RecordingTask(), "job1", "denoise", settings) as step:
        (step.job_dir / "model").mkdir()
        (step.job_dir / "model" / "weights-epoch1.h5").write_bytes(b"fitted on the scan")
        delete(data_dir, "job1")
        # The worker has not looked yet: its next write recreates the folder.
        (step.job_dir / "model").mkdir(parents=True)
        (step.job_dir / "model" / "weights-final.h5").write_bytes(b"fitted on the scan")
    assert list((data_dir / "jobs").iterdir()) == []


def test_a_model_deleted_after_the_job_was_accepted_is_named_by_id_not_by_path(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """A queued job whose model was deleted fails naming the model; the server's paths stay in its log."""
    task = RecordingTask()
    monkeypatch.setattr(step_module, "progress_backend", lambda _settings: RecordingBackend(task))
    monkeypatch.setattr(step_module, "get_settings", lambda: settings)
    data_dir = Path(settings.DATA_DIR)
    inputs = job_dir(data_dir, "job1") / "inputs"
    inputs.mkdir(parents=True)
    np.save(inputs / "input.npy", np.random.default_rng(0).random((8, 16, 16), dtype=np.float32))
    payload = {
        "job_id": "job1",
        "method": "n2v",
        "input": {"path": "jobs/job1/inputs/input.npy", "name": "scan.npy"},
        "model_id": "n2v-deleted",
        "result": "jobs/job1/result.npy",
    }
    # What the methods' loaders do first: read the model folder's manifest (here: gone).
    workflow = SimpleNamespace(denoise_volume=lambda _volume, model_dir, **_: read_manifest(model_dir))
    with pytest.raises(ModelNotFoundError) as failed:
        run_denoise_job(task, payload, workflow)  # type: ignore[arg-type]
    assert str(failed.value) == "no model with id 'n2v-deleted' (it was deleted)"
    assert str(data_dir / "models" / "n2v-deleted") in caplog.text


def test_a_jobs_error_never_names_the_servers_data_directory(settings: Settings):
    """Whatever fails in a step (an input error, a crash on a file) names paths relative to the data dir."""
    folder = job_dir(Path(settings.DATA_DIR), "job1")
    for raised, expected in (
        (UnreadableVolumeError(f"{folder}/inputs/x.nii: truncated"), UnreadableVolumeError),
        (FileNotFoundError(f"No such file: '{folder}/model/weights.h5'"), JobError),
    ):
        with pytest.raises(expected) as failed, run_step(RecordingTask(), "job1", "denoise", settings):
            raise raised
        assert str(settings.DATA_DIR) not in str(failed.value)
        assert "jobs/job1/" in str(failed.value)
    with pytest.raises(JobError) as failed, run_step(RecordingTask(), "job1", "denoise", settings):
        raise OSError(f"cannot read /mnt{settings.DATA_DIR}/x")  # not in the data directory: left as it is
    assert f"/mnt{settings.DATA_DIR}/x" in str(failed.value)


def test_a_training_deleted_as_its_model_is_registered_leaves_no_model(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """A DELETE landing just after the check before registration: the registered model (fitted on the
    deleted uploads) is removed with its owner record, and the step ends cancelled."""
    task = RecordingTask()
    monkeypatch.setattr(step_module, "progress_backend", lambda _settings: RecordingBackend(task))
    monkeypatch.setattr(step_module, "get_settings", lambda: settings)
    data_dir = Path(settings.DATA_DIR)
    write_record(
        data_dir,
        JobRecord(
            id="job1",
            kind="train",
            method="n2v",
            created=utcnow(),
            steps=[JobStep(name="train", task="n2v.train", task_id="task-1")],
            model_id="n2v-fresh",
        ),
    )
    write_access(data_dir, "n2v-fresh", ModelAccess(owner="alice"))
    inputs = job_dir(data_dir, "job1") / "inputs"
    inputs.mkdir()
    np.save(inputs / "input.npy", np.random.default_rng(0).random((8, 16, 16), dtype=np.float32))

    def train_model(_config: Any, _volumes: Any, work: Path, **_: Any) -> Any:
        work.mkdir()
        (work / "w.bin").write_bytes(b"fitted on the scan")
        return write_manifest(
            work, method="n2v", framework="t", config={}, data={}, validation={}, files=["w.bin"]
        )

    def register_then_deleted(data_dir: Path, model_id: str, trained_dir: Path) -> Path:
        path = register_model(data_dir, model_id, trained_dir)
        _delete_as_the_gateway_does(data_dir, "job1")
        return path

    monkeypatch.setattr(jobs_module, "register_model", register_then_deleted)
    workflow = SimpleNamespace(train_model=train_model, has_checkpoint=lambda _work: False)
    payload = {
        "job_id": "job1",
        "model_id": "n2v-fresh",
        "config": {"method": "n2v"},
        "inputs": [{"path": "jobs/job1/inputs/input.npy", "name": "scan.npy"}],
    }
    with pytest.raises(JobCancelledError):
        run_training_job(task, payload, workflow)  # type: ignore[arg-type]
    assert list((data_dir / "jobs").iterdir()) == []
    assert [path.name for path in (data_dir / "models").iterdir()] == [".access"]
    assert not access_path(data_dir, "n2v-fresh").exists()


def test_tasks_are_routed_to_their_queues_by_name(settings: Settings):
    """Each task name goes to its method's queue; acks are late and a lost worker's job is requeued."""
    app = make_celery(settings)
    route = app.amqp.router.route
    assert [route({}, name)["queue"].name for name in (N2N_TRAIN, N2V_DENOISE, METRICS_EVALUATE)] == [
        "n2n",
        "n2v",
        "metrics",
    ]
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1 and app.conf.task_track_started
    redis_app = make_celery(
        Settings(DATA_DIR=settings.DATA_DIR, BROKER_URL="redis://h:6379/0", VISIBILITY_TIMEOUT=7200)
    )
    assert redis_app.conf.broker_transport_options["visibility_timeout"] == 7200


def test_each_job_event_is_one_log_line_without_names_or_messages(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """A step logs its start and its outcome with the job id, step and duration; never the error's text,
    which may quote a file (or DICOM member) name carrying a patient's."""
    task = RecordingTask()
    monkeypatch.setattr(step_module, "progress_backend", lambda _settings: RecordingBackend(task))
    caplog.set_level(logging.INFO, logger="shared.worker.step")
    with pytest.raises(ConstantVolumeError), run_step(task, "job7", "denoise", settings):
        raise ConstantVolumeError("Doe_Jane.nii.gz: every voxel has the value 0")
    lines = [record.getMessage() for record in caplog.records if record.name == "shared.worker.step"]
    assert lines[0] == "job job7 denoise: started after 0.0s"
    assert re.fullmatch(r"job job7 denoise: failed \(ConstantVolumeError\) after \d+\.\ds", lines[1])
    assert len(lines) == 2 and "Doe_Jane" not in caplog.text


def test_celery_logs_an_input_failure_by_its_class_only(settings: Settings):
    """Celery's own failure line for a task that failed on its input keeps the class, loses the text (which
    may quote a DICOM member's name) and the traceback; an unexpected crash keeps both."""
    configure_worker_logging(settings)
    trace = logging.getLogger("celery.app.trace")

    def record(error: Exception) -> logging.LogRecord:
        try:
            raise error
        except Exception:
            exc_info = sys.exc_info()
        context = {
            "name": "n2n.denoise",
            "id": "job7-denoise",
            "description": "raised unexpected",
            "exc": repr(error),
        }
        made = trace.makeRecord(
            trace.name,
            logging.ERROR,
            __file__,
            1,
            "Task %(name)s[%(id)s] %(description)s: %(exc)s",
            (context,),
            exc_info,
        )
        assert trace.filter(made)
        return made

    private = record(UnreadableVolumeError("file: DOE^JANE/IM0001.dcm: not a DICOM image file"))
    assert private.getMessage() == (
        "Task n2n.denoise[job7-denoise] raised unexpected: UnreadableVolumeError (its message: GET /jobs/<id>)"
    )
    assert private.exc_info is None
    crash = record(RuntimeError("CUDA out of memory"))
    assert "CUDA out of memory" in crash.getMessage() and crash.exc_info is not None


@pytest.mark.parametrize("stop", [SystemExit, KeyboardInterrupt])
def test_a_step_cut_short_by_shutdown_is_not_logged_as_succeeded(
    stop: type[BaseException],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    """A worker stopping in the middle of a step (SIGTERM's SystemExit, Ctrl-C) is logged as cut short, and
    the exception goes on unchanged (the message is not acknowledged, so the job runs again)."""
    task = RecordingTask()
    monkeypatch.setattr(step_module, "progress_backend", lambda _settings: RecordingBackend(task))
    caplog.set_level(logging.INFO, logger="shared.worker.step")
    with pytest.raises(stop), run_step(task, "job8", "train", settings):
        raise stop()
    lines = [record.getMessage() for record in caplog.records if record.name == "shared.worker.step"]
    assert re.fullmatch(
        rf"job job8 train: cut short by {stop.__name__} \(the worker is stopping\), to be run again after "
        r"\d+\.\ds",
        lines[1],
    )
    assert "succeeded" not in caplog.text
