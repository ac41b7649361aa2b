"""What every task does around its core call: payload check, progress, cancellation, error policy.

A task body is `with run_step(self, payload.job_id, "denoise") as job: ...`; inside, `job.progress`
is the core's progress callback and `job.path(...)` resolves payload paths in the data directory.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from celery.exceptions import BackendStoreError
from celery.signals import worker_init
from pydantic import BaseModel, ValidationError

from shared.errors import ConfigError, FetalDenoiseError, JobCancelledError, JobError, JobNotFoundError
from shared.io import ReadLimits, read_volume, write_volume
from shared.jobs.paths import data_path
from shared.jobs.store import RECORD_NAME, is_cancelled, job_dir, remove_job_files
from shared.logs import configure_worker_logging, job_event
from shared.progress import Progress
from shared.queue.app import app, ensure_local_queue, make_celery, queue_dir, uses_local_queue
from shared.queue.local import recover_claimed
from shared.queue.payloads import VolumeInput
from shared.queue.per_broker import per_broker
from shared.queue.transient import TRANSIENT_ERRORS
from shared.settings import Settings, get_settings
from shared.volume import Volume
from shared.worker.lease import Lease

app.steps["consumer"].add(Lease)  # every worker beats and renews its leases (shared/worker/lease.py)

TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": get_settings().JOB_RETRIES,
    "acks_late": True,
    "reject_on_worker_lost": True,
    # A pool child that dies under a job (out of memory: the kernel's SIGKILL) is retried like a transient
    # fault, counting against max_retries, instead of requeued for ever; past the count the job fails with
    # WorkerLostError, which the gateway words for the user (views.error_message).
    "retry_on_worker_lost": True,
    "default_retry_delay": 5,
}
"""Options of every job task (`@app.task(name=..., **TASK_OPTIONS)`)."""

PROGRESS_STATE = "PROGRESS"
PROGRESS_INTERVAL_S = 0.5
"""Publish at most this often, except on a change of stage and at the end of one."""
PROGRESS_PAUSE_S = 10.0
"""After a progress report could not reach the result store, skip reports for this long."""

logger = logging.getLogger(__name__)


@per_broker
def progress_backend(settings: Settings) -> Any:
    """A result store client that gives up at once (Celery's own retries for a minute, then fails the task):
    progress is worth a report, never a wait, and never a failed training. Made once per broker."""
    return make_celery(settings, role="client").backend


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
        self._paused_until = -math.inf
        # A job that had a record when its step began and has none now was deleted (DELETE /jobs/{id}, a
        # purge) even if its tombstone has since been swept: the step stops as for a cancellation.
        self._had_record = False
        with contextlib.suppress(JobNotFoundError):  # an id that is no job's (refused by its payload check)
            self._had_record = (self.job_dir / RECORD_NAME).is_file()

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

    def write(
        self,
        volume: Volume,
        relative: str,
        *,
        description: str = "denoised",
        keep_dtype: bool = False,
        as_new_series: bool = False,
    ) -> Path:
        """Write a result volume atomically, in the format its name says (in the input's type if asked)."""
        self.progress(Progress(stage="writing", fraction=0.0))
        path = write_volume(
            volume,
            self.path(relative),
            description=description,
            keep_dtype=keep_dtype,
            as_new_series=as_new_series,
        )
        self.progress(Progress(stage="writing", fraction=1.0))
        return path

    def is_gone(self) -> bool:
        """Whether the job was cancelled or deleted while this step ran."""
        if is_cancelled(self.data_dir, self.job_id):
            return True
        return self._had_record and not (self.job_dir / RECORD_NAME).is_file()

    def check_cancelled(self) -> None:
        """Stop the step if the job was cancelled or deleted."""
        if self.is_gone():
            raise JobCancelledError(f"job {self.job_id} was cancelled")

    def progress(self, event: Progress) -> None:
        """Progress callback for the cores: publish the event (throttled) and honour a cancellation.

        A report the result store does not take (Redis is down) is dropped, and reports pause for
        PROGRESS_PAUSE_S: the training goes on, and the next report after the outage says where it is.
        """
        self.check_cancelled()
        now = time.monotonic()
        stage_changed = event.stage != self._last_stage
        due = stage_changed or event.fraction >= 1.0 or now - self._last_sent >= PROGRESS_INTERVAL_S
        if not due or now < self._paused_until:
            return
        self._last_sent = now
        self._last_stage = event.stage
        meta = {**event.model_dump(mode="json"), "job_step": self.step}
        try:
            progress_backend(self.settings).store_result(
                self.task.request.id, meta, PROGRESS_STATE, request=self.task.request
            )
        except (*TRANSIENT_ERRORS, BackendStoreError) as exc:
            if self._paused_until == -math.inf:
                logger.warning(
                    "job %s: progress not reported, the result store is away (%s)", self.job_id, exc
                )
            self._paused_until = now + PROGRESS_PAUSE_S


def without_server_paths(message: str, data_dir: Path) -> str:
    """A job's error as its user may read it: a path inside the data directory is given relative to it
    (`jobs/<id>/model/...`), never as the server's absolute path (which says how the server is laid out)."""
    for form in sorted({str(data_dir.absolute()), str(data_dir.resolve())}, key=len, reverse=True):
        # Only where a path starts: "/data/" must not be cut out of "/mnt/data/...".
        message = re.sub(_PATH_START + re.escape(form.rstrip("/") + "/"), "", message)
    return message


_PATH_START = r"(?<![\w./~-])"


@contextlib.contextmanager
def run_step(task: Any, job_id: str, step: str, settings: Settings | None = None) -> Iterator[StepContext]:
    """Run one step of a job with the service's error policy.

    Input errors (`FetalDenoiseError`) fail the job with their message; transient faults propagate
    for Celery to retry; anything else becomes a `JobError` naming what happened (so the gateway
    never has to import a worker's exception classes). A cancelled or deleted job's files are removed at the
    end, whatever the step wrote after the deletion (a fitted model): nothing of it stays without a record.
    """
    ctx = StepContext(task, job_id, step, settings or get_settings())
    job_event(logger, job_id, step, "started", 0.0)
    # "succeeded" only once the body has run to its end: a step left by any other way says so.
    outcome = "cut short (the step did not end)"
    try:
        ctx.check_cancelled()
        ctx.progress(Progress(stage="loading", fraction=0.0))
        yield ctx
        ctx.check_cancelled()
        outcome = "succeeded"
    except JobCancelledError:
        outcome = "cancelled"
        raise
    except FetalDenoiseError as exc:
        outcome = f"failed ({type(exc).__name__})"
        message = without_server_paths(str(exc), ctx.data_dir)
        if message != str(exc):
            logger.warning("job %s: %s", job_id, exc)  # the paths stay in the server's log
            raise type(exc)(message) from exc
        raise
    except TRANSIENT_ERRORS as exc:
        outcome = f"interrupted by a transient fault ({type(exc).__name__}), to be retried"
        raise
    except Exception as exc:
        outcome = f"failed ({type(exc).__name__})"
        message = without_server_paths(str(exc), ctx.data_dir)
        raise JobError(f"{step} failed: {type(exc).__name__}: {message}") from exc
    except BaseException as exc:
        # A shutdown (SystemExit, Celery's WorkerShutdown / WorkerTerminate, KeyboardInterrupt) stopping the
        # step: it was logged "succeeded". The message is not acknowledged (acks_late), so the job runs again.
        outcome = f"cut short by {type(exc).__name__} (the worker is stopping), to be run again"
        raise
    finally:
        job_event(logger, job_id, step, outcome, ctx.elapsed())
        if ctx.is_gone():
            remove_job_files(ctx.data_dir, job_id)


@worker_init.connect
def _prepare_local_queue(**_: Any) -> None:
    """At worker start: the log lines, the local queue's folders, and requeue what dead workers had claimed."""
    settings = get_settings()
    configure_worker_logging(settings)
    if uses_local_queue(settings):
        ensure_local_queue(settings)
        recover_claimed(queue_dir(settings) / "messages")
