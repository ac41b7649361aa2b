"""Keeps the embedded service's workers running: a worker process that dies is replaced.

Without it, a worker's main process killed (the OOM killer, a stray `kill`) left its queue without a worker
until the whole service was restarted, while /health said "ok". The supervisor polls each worker every
POLL_S; one that exited on its own is cleaned up and started again:

1. its process group is killed: a pool child orphaned by its parent's death may still be running a job,
   and must not train on beside the job's next run;
2. with the local queue, the messages it had claimed go back in the queue (`recover_claimed`), so its job
   runs again (resuming from its checkpoint) in the new worker; with Redis its lease renewals stopped with
   it, and Redis hands the job out again after VISIBILITY_TIMEOUT;
3. it is started again, at once the first time, then after a growing pause if it keeps dying (a worker
   that cannot start must not spin).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger("fetal_denoise.embedded")

POLL_S = 1.0
RESTART_PAUSES_S = (0.0, 1.0, 5.0, 15.0, 60.0)
"""Pause before the n-th restart in a row; a worker that stayed up STABLE_S resets the count."""
STABLE_S = 120.0


@dataclass
class SupervisedWorker:
    """One worker: how to start it, its current process, and how often it had to be restarted."""

    queue: str
    command: list[str]
    log: Path | None
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures_in_a_row: int = 0
    restart_due: float | None = None


@dataclass
class WorkerSupervisor:
    """Starts the workers and restarts any that dies until `stop()`."""

    env: Mapping[str, str]
    start: Callable[[list[str], Mapping[str, str], Path | None], subprocess.Popen[bytes]]
    recover: Callable[[], int]
    workers: dict[str, SupervisedWorker] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def add(self, queue: str, command: list[str], log: Path | None) -> subprocess.Popen[bytes]:
        """Start a worker for `queue` and supervise it."""
        worker = SupervisedWorker(queue=queue, command=command, log=log)
        self.workers[queue] = worker
        self._launch(worker)
        assert worker.process is not None
        return worker.process

    def run_in_background(self) -> None:
        """Watch the workers from a daemon thread until `stop()`."""
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
        self._thread.start()

    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        """The current process of each worker."""
        with self._lock:
            return {queue: w.process for queue, w in self.workers.items() if w.process is not None}

    def stop(self) -> list[subprocess.Popen[bytes]]:
        """Stop supervising (nothing is restarted from now on); return the processes to stop."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10 * POLL_S)
        return list(self.processes().values())

    def check(self, now: float | None = None) -> None:
        """One round: restart the workers that died (the watcher thread calls this every POLL_S)."""
        now = time.monotonic() if now is None else now
        for worker in list(self.workers.values()):
            if self._stopping.is_set():
                return
            process = worker.process
            if process is not None and process.poll() is None:
                if now - worker.started_at >= STABLE_S:
                    worker.failures_in_a_row = 0
                continue
            if worker.restart_due is None:
                assert process is not None
                self._clean_up(worker, process)
                pause = RESTART_PAUSES_S[min(worker.failures_in_a_row, len(RESTART_PAUSES_S) - 1)]
                worker.failures_in_a_row += 1
                worker.restart_due = now + pause
            if now >= worker.restart_due:
                worker.restart_due = None
                worker.restarts += 1
                self._launch(worker)
                logger.warning(
                    "worker %s restarted (pid %s; restart %d)",
                    worker.queue,
                    worker.process.pid if worker.process else "?",
                    worker.restarts,
                )

    def _watch(self) -> None:
        """Check every POLL_S until stopped."""
        while not self._stopping.wait(POLL_S):
            try:
                self.check()
            except Exception:  # a failed restart is tried again next round; the watcher must not die
                logger.exception("the worker supervisor could not restart a worker")

    def _launch(self, worker: SupervisedWorker) -> None:
        """Start the worker's process."""
        process = self.start(worker.command, self.env, worker.log)
        with self._lock:
            worker.process = process
            worker.started_at = time.monotonic()

    def _clean_up(self, worker: SupervisedWorker, process: subprocess.Popen[bytes]) -> None:
        """Kill what is left of a dead worker's process group, then requeue its claimed messages."""
        logger.warning(
            "worker %s (pid %d) exited with code %s", worker.queue, process.pid, process.returncode
        )
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the group id is its pid
        recovered = self.recover()
        if recovered:
            logger.warning("requeued %d job(s) the dead %s worker had claimed", recovered, worker.queue)
