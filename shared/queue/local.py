"""The queue without Redis: kombu's filesystem transport and Celery's file result store, made crash-safe.

Both upstream classes write files in place, so a reader polling the folder can see a message or a
result half-written, and the transport deletes a message as soon as a worker fetches it, so a worker
killed mid-job loses it. Here messages and results are written under a temporary name and renamed; a
worker claims a message by renaming it into `claimed/` (exactly one consumer wins) and deletes it only
when the job is acknowledged. The claimed name carries the claiming process's id and start time, so
`recover_claimed` puts back the messages of dead workers, and never mistakes a new process that was given a
dead worker's id (ids are reused) for the worker itself.
Messages are plain files, so queued jobs survive a restart.
"""

from __future__ import annotations

import functools
import os
import uuid
from pathlib import Path
from queue import Empty
from time import time_ns
from typing import Any

import psutil
from celery.backends.filesystem import FilesystemBackend
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, ensure_bytes, str_to_bytes
from kombu.utils.json import dumps, loads

from shared.atomic import atomic_write_bytes


class Channel(filesystem.Channel):
    """Filesystem channel with atomic publish and atomic claim."""

    # kombu's filesystem transport passes **kwargs that its abstract base does not declare.
    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Write the message under a temporary name, then rename it into the queue folder."""
        # Wall-clock nanoseconds keep FIFO order across processes and restarts (monotonic() does not).
        name = f"{time_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        folder = Path(self.data_folder_out)
        tmp = folder / f".{name}.tmp"
        tmp.write_bytes(str_to_bytes(dumps(message)))
        os.replace(tmp, folder / name)

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        """Claim the oldest message of `queue` by renaming it; a rename that loses the race moves on."""
        folder = Path(self.data_folder_in)
        claimed_folder(folder).mkdir(exist_ok=True)
        for name in sorted(os.listdir(folder)):
            if name.startswith(".") or name.partition(".")[2] != f"{queue}.msg":
                continue
            claimed = claimed_folder(folder) / f"{claimant()}-{name}"
            try:
                os.rename(folder / name, claimed)
            except OSError:
                continue
            payload = loads(bytes_to_str(claimed.read_bytes()))
            self._claimed[payload["properties"]["delivery_tag"]] = claimed
            return payload
        raise Empty()

    @property
    def _claimed(self) -> dict[str, Path]:
        """Claimed message files of this channel, by delivery tag, until acknowledged or restored."""
        if not hasattr(self, "_claimed_files"):
            self._claimed_files: dict[str, Path] = {}
        return self._claimed_files

    def _release(self, delivery_tag: str) -> None:
        """Forget a claimed message: it was acknowledged or put back in the queue."""
        claimed = self._claimed.pop(delivery_tag, None)
        if claimed is not None:
            claimed.unlink(missing_ok=True)

    def basic_ack(self, delivery_tag: str, multiple: bool = False) -> None:
        """Acknowledge, then delete the claimed file: the job is done with."""
        super().basic_ack(delivery_tag, multiple=multiple)
        self._release(delivery_tag)

    def _restore(self, message: Any) -> None:
        """Requeue a message (rejected, or unacknowledged at shutdown) and drop its claimed copy."""
        super()._restore(message)
        self._release(message.delivery_tag)


def claimed_folder(queue_folder: Path) -> Path:
    """Where workers keep the messages they are working on."""
    return queue_folder / "claimed"


def claimant() -> str:
    """This process as a claimed message names it: `<pid>@<start time in ms>`."""
    return _claimant(os.getpid())


@functools.cache
def _claimant(pid: int) -> str:
    """`claimant()` of the process `pid` (cached per id, so a forked child never takes its parent's)."""
    return f"{pid}@{start_time_ms(pid)}"


def start_time_ms(pid: int) -> int | None:
    """When the process `pid` started, in ms since the epoch; None when there is no such process."""
    try:
        return round(psutil.Process(pid).create_time() * 1000)
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None


def claimant_alive(claimant_id: str) -> bool:
    """Whether the process that claimed a message still runs: same id and same start time.

    A zombie (exited, not yet reaped by its parent) is dead. Names from before start times were recorded
    (`<pid>-...`) are judged by the id alone.
    """
    pid, _, started = claimant_id.partition("@")
    if not pid.isdigit():
        return False
    try:
        process = psutil.Process(int(pid))
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    return not started or str(start_time_ms(int(pid))) == started


def recover_claimed(queue_folder: Path) -> int:
    """Put back in the queue every claimed message whose worker process is gone; return how many."""
    recovered = 0
    for claimed in sorted(claimed_folder(queue_folder).glob("*.msg")):
        claimant_id, _, name = claimed.name.partition("-")
        if claimant_alive(claimant_id):
            continue
        try:
            os.rename(claimed, queue_folder / name)
        except OSError:
            continue
        recovered += 1
    return recovered


class Transport(filesystem.Transport):
    """Filesystem transport using the atomic channel."""

    Channel = Channel


class AtomicFilesystemBackend(FilesystemBackend):
    """Celery's file result store, writing each result atomically so a reader never sees half of one."""

    def set(self, key: bytes | str, value: Any) -> None:
        """Store `value` under `key` by writing a temporary file and renaming it."""
        atomic_write_bytes(os.fsdecode(self._filename(key)), ensure_bytes(value))
