"""A job's status, derived from its record and the Celery state of each of its steps."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from services.gateway.jobqueue import JobQueue
from services.gateway.schemas import JobView
from shared.jobs.store import JobRecord
from shared.progress import Progress

RUNNING_STATES = {"STARTED", "PROGRESS", "RETRY"}
FAILED_STATES = {"FAILURE", "REVOKED"}
_STAGE_OF_STEP = {"denoise": "loading", "train": "loading", "metrics": "metrics"}


WORKER_LOST = (
    "the worker process running this job died each time it was tried ({detail}); the job was given up. "
    "The usual cause is running out of memory: try a smaller volume, a smaller batch or patch size, or a "
    "machine with more memory"
)


def error_message(info: Any, state: str) -> str:
    """The message a failed step left (the worker's error text)."""
    if state == "REVOKED":
        return "the job was cancelled"
    if type(info).__name__ == "WorkerLostError":  # billiard's: the pool child was killed, JOB_RETRIES times
        return WORKER_LOST.format(detail=str(info).strip() or "killed")
    if isinstance(info, BaseException):
        return str(info) or type(info).__name__
    return str(info) if info else "the job failed"


def progress_of(info: Any) -> Progress | None:
    """The Progress a worker published with update_state, if the info is one."""
    if not isinstance(info, dict):
        return None
    try:
        return Progress.model_validate({k: v for k, v in info.items() if k != "job_step"})
    except ValidationError:
        return None


def job_view(record: JobRecord, queue: JobQueue) -> JobView:
    """Walk the steps in order: the first that is not done says where the job is."""
    view = JobView(
        job_id=record.id, kind=record.kind, method=record.method, status="succeeded", created=record.created
    )
    view.model_id = record.model_id
    view.owner = record.owner
    view.inputs = dict(record.inputs)
    view.warnings = list(record.warnings)
    for index, step in enumerate(record.steps):
        state = queue.state(step.task_id)
        if state.worker:
            view.workers[step.name] = state.worker
        if state.state == "SUCCESS":
            if step.name == "metrics" and isinstance(state.info, dict):
                view.metrics = state.info
            if step.name == "denoise" and isinstance(state.info, dict):
                view.quality = state.info.get("quality")
            continue
        view.step = step.name
        if state.state in FAILED_STATES:
            view.status = "failed"
            view.error = error_message(state.info, state.state)
        elif state.state in RUNNING_STATES:
            view.status = "running"
            view.progress = progress_of(state.info)
        else:  # PENDING: waiting in its queue (a later step is queued once the one before succeeds)
            view.status = "queued" if index == 0 else "running"
            stage = "queued" if index == 0 else _STAGE_OF_STEP[step.name]
            view.progress = Progress(stage=stage, fraction=0.0)
        return view
    view.progress = Progress(stage="done", fraction=1.0)
    if record.result is not None:
        view.result = f"/jobs/{record.id}/result"
    if record.kind == "train" and record.model_id is not None:
        view.model_url = f"/models/{record.model_id}"
    return view
