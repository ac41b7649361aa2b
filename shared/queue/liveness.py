"""Worker heartbeats: each worker says every few seconds which queue it serves, and on which device its jobs
run (shared/worker/device.py); /health reads them.

A worker's main process beats every BEAT_INTERVAL_S (shared/worker/lease.py); a queue with no beat younger
than BEAT_TTL_S has no live worker. With Redis the beats are keys that expire by themselves (no clock is
compared across hosts); with the local queue they are files in the data directory whose age is read on
the same machine. Nothing here imports a worker's code, so the gateway can read them.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared.queue.names import queues
from shared.settings import Settings

BEAT_INTERVAL_S = 5.0
BEAT_TTL_S = 20.0
"""A worker whose last beat is older than this is taken for dead (four missed beats)."""
REDIS_TIMEOUT_S = 1.0
"""Heartbeats are never worth waiting for: a Redis that does not answer within this is down."""


class Heartbeats(Protocol):
    """Where heartbeats are kept."""

    def beat(self, queue: str, worker: str, device: str = "unknown") -> None:
        """Record that `worker` serves `queue` now, running its jobs on `device`."""

    def live_devices(self) -> dict[str, list[str]]:
        """The device of each worker that beat recently, for each queue (empty when none)."""

    def live_workers(self) -> dict[str, int]:
        """How many workers beat recently, for each queue (0 when none)."""


class FileHeartbeats:
    """Heartbeats as files `<queue>@<worker>` whose modification time is the last beat and whose text is the
    worker's device (local queue)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._written: dict[Path, str] = {}

    def beat(self, queue: str, worker: str, device: str = "unknown") -> None:
        """Touch the worker's file; (re)write its text when the device changed (the first beat included)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{queue}@{worker.replace('/', '_')}"
        if self._written.get(path) == device and path.exists():
            path.touch()
            return
        # Written whole under a dot name and renamed, so /health never reads half a device.
        tmp = self.folder / f".{path.name}.tmp"
        tmp.write_text(device, encoding="utf-8")
        os.replace(tmp, path)
        self._written[path] = device

    def live_devices(self) -> dict[str, list[str]]:
        """The text of the files touched within BEAT_TTL_S, per queue; files older than a day are removed."""
        devices: dict[str, list[str]] = {queue: [] for queue in queues()}
        now = time.time()
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.folder):
                queue = entry.name.partition("@")[0]
                with contextlib.suppress(FileNotFoundError):
                    age = now - entry.stat().st_mtime
                    if age <= BEAT_TTL_S and queue in devices:
                        devices[queue].append(Path(entry.path).read_text(encoding="utf-8"))
                    elif age > 86_400:
                        os.unlink(entry.path)
        return devices

    def live_workers(self) -> dict[str, int]:
        """Count the files touched within BEAT_TTL_S, per queue."""
        return {queue: len(found) for queue, found in self.live_devices().items()}


class RedisHeartbeats:
    """Heartbeats as Redis keys that expire after BEAT_TTL_S (Redis mode, any number of hosts)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = f"{prefix}fetal-denoise:heartbeat:"

    def beat(self, queue: str, worker: str, device: str = "unknown") -> None:
        """Set the worker's key, its value the device, with its time to live."""
        self.client.set(f"{self.prefix}{queue}@{worker}", device, px=int(BEAT_TTL_S * 1000))

    def live_devices(self) -> dict[str, list[str]]:
        """The values of the keys that have not expired, per queue."""
        devices: dict[str, list[str]] = {queue: [] for queue in queues()}
        keys = [
            key
            for key in self.client.scan_iter(match=f"{self.prefix}*", count=100)
            if key.decode().removeprefix(self.prefix).partition("@")[0] in devices
        ]
        values = self.client.mget(keys) if keys else []
        for key, value in zip(keys, values, strict=True):
            if value is not None:  # expired between the scan and the read
                text = value.decode() if isinstance(value, bytes) else str(value)
                devices[key.decode().removeprefix(self.prefix).partition("@")[0]].append(text)
        return devices

    def live_workers(self) -> dict[str, int]:
        """Count the keys that have not expired, per queue."""
        return {queue: len(found) for queue, found in self.live_devices().items()}


def heartbeats(settings: Settings) -> Heartbeats:
    """The heartbeat store of these settings: files next to the local queue, or keys on the broker's Redis."""
    if not settings.BROKER_URL:
        return FileHeartbeats(Path(settings.DATA_DIR).resolve() / "queue" / "workers")
    client = redis.Redis.from_url(
        settings.BROKER_URL,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),  # redis-py retries three times by default, with back-off
    )
    return RedisHeartbeats(client, settings.BROKER_KEY_PREFIX)
