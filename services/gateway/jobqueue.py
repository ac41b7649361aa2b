"""The gateway's view of the queue: send a job's steps by task name, read their state, cancel them."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Protocol

from celery import Celery, chain
from celery.result import AsyncResult

from shared.errors import JobError
from shared.queue.app import make_celery, uses_local_queue
from shared.queue.transient import RESULT_STORE_ERRORS
from shared.settings import Settings


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
        return cls(make_celery(settings), remote_control=not uses_local_queue(settings))

    def submit(self, calls: list[TaskCall]) -> None:
        """One message for a single call; a chain of immutable signatures for several."""
        signatures = [
            self.celery.signature(call.name, args=(call.payload,), immutable=True).set(task_id=call.task_id)
            for call in calls
        ]
        if len(signatures) == 1:
            signatures[0].apply_async()
        else:
            chain(*signatures).apply_async()

    def state(self, task_id: str) -> TaskState:
        """Read the state from the result store (unreachable: JobError, answered 503)."""
        result = AsyncResult(task_id, app=self.celery)
        try:
            return TaskState(state=result.state, info=result.info)
        except RESULT_STORE_ERRORS as exc:
            raise JobError(f"the result store is unreachable: {type(exc).__name__}: {exc}") from exc

    def cancel(self, task_ids: list[str]) -> None:
        """Revoke (terminating a running one) and forget the results; the local queue relies on tombstones."""
        if self.remote_control:
            self.celery.control.revoke(task_ids, terminate=True)
        for task_id in task_ids:
            with contextlib.suppress(FileNotFoundError):
                AsyncResult(task_id, app=self.celery).forget()
