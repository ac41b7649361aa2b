"""Test doubles for the gateway tests (a module name of its own, so no other test folder can shadow it)."""

from __future__ import annotations

from services.gateway.jobqueue import TaskCall, TaskState


class RecordingQueue:
    """A JobQueue that records what would be sent and answers states from a dict (default PENDING)."""

    def __init__(self) -> None:
        self.submitted: list[list[TaskCall]] = []
        self.states: dict[str, TaskState] = {}
        self.cancelled: list[str] = []

    def submit(self, calls: list[TaskCall]) -> None:
        """Record one job's calls."""
        self.submitted.append(calls)

    def state(self, task_id: str) -> TaskState:
        """The state set by the test, else PENDING."""
        return self.states.get(task_id, TaskState(state="PENDING", info=None))

    def cancel(self, task_ids: list[str]) -> None:
        """Record the cancellation."""
        self.cancelled.extend(task_ids)
