"""The gateway's view of the queue: send a job's steps by task name, read their state, cancel them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from celery import Celery, chain
from celery.result import AsyncResult

from shared.disk import full_detail, is_disk_full
from shared.errors import JobError, StorageFullError
from shared.queue.app import make_celery, uses_local_queue
from shared.queue.transient import RESULT_STORE_ERRORS
from shared.settings import Settings

logger = logging.getLogger("fetal_denoise.gateway")

QUEUE_DOWN = "the job queue cannot be reached right now; nothing was queued: try again in a minute"
STORE_DOWN = "the job queue's result store cannot be reached right now: try again in a minute"
"""503 details: what the client can do. The broker's own error (its address, Celery's wording) is logged
for the operator, never sent."""


@dataclass(frozen=True)
class TaskCall:
    """One task to send: its name (which routes it to a queue), its id and its payload."""

    name: str
    task_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class TaskState:
    """A task's Celery state (PENDING, STARTED, PROGRESS, RETRY, SUCCESS, FAILURE, REVOKED) and its info."""

    state: str
    info: Any
    worker: str | None = None
    """The Celery node (`queue@host`) that started or ran it, as its result meta names it; None while queued."""


class JobQueue(Protocol):
    """What the routes need from the queue (tests substitute a recording fake)."""

    def submit(self, calls: list[TaskCall]) -> None:
        """Queue the calls to run one after the other; a failed call stops the rest."""

    def state(self, task_id: str) -> TaskState:
        """The current state of a task."""

    def cancel(self, task_ids: list[str]) -> None:
        """Stop the tasks if queued or running (best effort; workers also honour tombstones)."""


class CeleryJobQueue:
    """JobQueue over a Celery app that knows no task code: everything is sent by name."""

    def __init__(self, celery: Celery, remote_control: bool) -> None:
        self.celery = celery
        self.remote_control = remote_control

    @classmethod
    def from_settings(cls, settings: Settings) -> CeleryJobQueue:
        """A queue client for the broker and result store in `settings`."""
        return cls(make_celery(settings, role="client"), remote_control=not uses_local_queue(settings))

    def submit(self, calls: list[TaskCall]) -> None:
        """One message for a single call; a chain of immutable signatures for several (unreachable: JobError,
        answered 503 at once: the client app tries Redis once, with short timeouts)."""
        signatures = [
            self.celery.signature(call.name, args=(call.payload,), immutable=True).set(task_id=call.task_id)
            for call in calls
        ]
        try:
            if len(signatures) == 1:
                signatures[0].apply_async()
            else:
                chain(*signatures).apply_async()
        except RESULT_STORE_ERRORS as exc:
            logger.error(
                "could not queue job steps %s: %s: %s", [c.task_id for c in calls], type(exc).__name__, exc
            )
            if is_disk_full(exc):  # the local queue lives in the data directory: a full disk, not an outage
                raise StorageFullError(full_detail()) from exc
            raise JobError(QUEUE_DOWN) from exc

    def state(self, task_id: str) -> TaskState:
        """Read the state from the result store (unreachable: JobError, answered 503)."""
        result = AsyncResult(task_id, app=self.celery)
        try:
            # The result store keeps the worker's node name with each state (result_extended, shared.queue.app).
            return TaskState(state=result.state, info=result.info, worker=result.worker)
        except RESULT_STORE_ERRORS as exc:
            logger.error("could not read the state of %s: %s: %s", task_id, type(exc).__name__, exc)
            raise JobError(STORE_DOWN) from exc

    def cancel(self, task_ids: list[str]) -> None:
        """Revoke (terminating a running one) and forget the results, best effort: the cancellation itself
        is the tombstone the caller left, which every worker honours, Redis or not."""
        try:
            if self.remote_control:
                self.celery.control.revoke(task_ids, terminate=True)
            for task_id in task_ids:
                AsyncResult(task_id, app=self.celery).forget()
        except FileNotFoundError:
            pass  # the local store had no result yet
        except RESULT_STORE_ERRORS as exc:
            logger.warning(
                "cancel %s: the queue is unreachable (%s); the tombstone stops them", task_ids, exc
            )
