"""What every task does around its core call: payload check, progress, cancellation, error policy.

A task body is `with run_step(self, payload.job_id, "denoise") as job: ...`; inside, `job.progress`
is the core's progress callback and `job.path(...)` resolves payload paths in the data directory.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from celery.signals import worker_init
from pydantic import BaseModel, ValidationError

from shared.errors import ConfigError, FetalDenoiseError, JobCancelledError, JobError
from shared.io import ReadLimits, read_volume, write_volume
from shared.jobs.paths import data_path
from shared.jobs.store import is_cancelled, job_dir, remove_job_files
from shared.progress import Progress
from shared.queue.app import ensure_local_queue, queue_dir, uses_local_queue
from shared.queue.local import recover_claimed
from shared.queue.payloads import VolumeInput
from shared.queue.transient import TRANSIENT_ERRORS
from shared.settings import Settings, get_settings
from shared.volume import Volume

TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
    "acks_late": True,
    "reject_on_worker_lost": True,
}
"""Options of every job task (`@app.task(name=..., **TASK_OPTIONS)`)."""

PROGRESS_STATE = "PROGRESS"
PROGRESS_INTERVAL_S = 0.5
"""Publish at most this often, except on a change of stage and at the end of one."""

PayloadT = TypeVar("PayloadT", bound=BaseModel)


def parse_payload(model: type[PayloadT], payload: dict[str, Any]) -> PayloadT:
    """Validate a task's payload; a bad one fails the job at once with the reason."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ConfigError(f"invalid {model.__name__}: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    """The first validation error as 'field.sub: message'."""
    error = exc.errors()[0]
    return f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"


class StepContext:
    """One running step of a job: its paths, and a progress callback that also checks for cancellation."""

    def __init__(self, task: Any, job_id: str, step: str, settings: Settings) -> None:
        self.task = task
        self.job_id = job_id
        self.step = step
        self.settings = settings
        self.data_dir = Path(settings.DATA_DIR)
        self._last_sent = -math.inf
        self._last_stage: str | None = None
        self._started = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the step started (reported in task results, e.g. for the overhead benchmark)."""
        return round(time.monotonic() - self._started, 3)

    @property
    def job_dir(self) -> Path:
        """This job's folder (outputs go here)."""
        return job_dir(self.data_dir, self.job_id)

    def path(self, relative: str) -> Path:
        """A payload path resolved in the data directory."""
        return data_path(self.data_dir, relative)

    def read(self, volume: VolumeInput) -> Volume:
        """Read an uploaded volume with the configured limits; errors name the file as uploaded."""
        limits = ReadLimits.from_settings(self.settings)
        return read_volume(
            self.path(volume.path), limits=limits, series_uid=volume.series_uid, name=volume.name
        )

    def write(self, volume: Volume, relative: str, *, keep_dtype: bool = False) -> Path:
        """Write a result volume atomically, in the format its name says (in the input's type if asked)."""
        self.progress(Progress(stage="writing", fraction=0.0))
        path = write_volume(volume, self.path(relative), keep_dtype=keep_dtype)
        self.progress(Progress(stage="writing", fraction=1.0))
        return path

    def check_cancelled(self) -> None:
        """Stop the step if the job was cancelled."""
        if is_cancelled(self.data_dir, self.job_id):
            raise JobCancelledError(f"job {self.job_id} was cancelled")

    def progress(self, event: Progress) -> None:
        """Progress callback for the cores: publish the event (throttled) and honour a cancellation."""
        self.check_cancelled()
        now = time.monotonic()
        stage_changed = event.stage != self._last_stage
        if stage_changed or event.fraction >= 1.0 or now - self._last_sent >= PROGRESS_INTERVAL_S:
            self._last_sent = now
            self._last_stage = event.stage
            meta = {**event.model_dump(mode="json"), "job_step": self.step}
            self.task.update_state(state=PROGRESS_STATE, meta=meta)


@contextlib.contextmanager
def run_step(task: Any, job_id: str, step: str, settings: Settings | None = None) -> Iterator[StepContext]:
    """Run one step of a job with the service's error policy.

    Input errors (`FetalDenoiseError`) fail the job with their message; transient faults propagate
    for Celery to retry; anything else becomes a `JobError` naming what happened (so the gateway
    never has to import a worker's exception classes). A cancelled job's files are removed at the end.
    """
    ctx = StepContext(task, job_id, step, settings or get_settings())
    try:
        ctx.check_cancelled()
        ctx.progress(Progress(stage="loading", fraction=0.0))
        yield ctx
        ctx.check_cancelled()
    except FetalDenoiseError:
        raise
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:
        raise JobError(f"{step} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if is_cancelled(ctx.data_dir, job_id):
            remove_job_files(ctx.data_dir, job_id)


@worker_init.connect
def _prepare_local_queue(**_: Any) -> None:
    """At worker start: create the local queue's folders and requeue what dead workers had claimed."""
    settings = get_settings()
    if uses_local_queue(settings):
        ensure_local_queue(settings)
        recover_claimed(queue_dir(settings) / "messages")
