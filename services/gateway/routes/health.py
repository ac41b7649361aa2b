"""GET /health: liveness, open to all (no API key), for container health checks; says what is down."""

from __future__ import annotations

from pathlib import Path

import anyio
import redis
from fastapi import APIRouter

from services.gateway.auth import keys_required
from services.gateway.deps import SettingsDep
from services.gateway.schemas import Health
from shared.disk import free_bytes
from shared.queue.liveness import heartbeats
from shared.queue.names import queues
from shared.settings import Settings

router = APIRouter(prefix="/health", tags=["health"])

_LIMITER = anyio.CapacityLimiter(4)
"""Health reads run on threads of their own, so uploads being checked never keep /health waiting."""


def _live_workers(settings: Settings) -> dict[str, list[str]] | None:
    """The devices of the live workers per queue, from their heartbeats; None when they cannot be read."""
    try:
        return heartbeats(settings).live_devices()
    except (redis.RedisError, OSError, UnicodeDecodeError):
        return None


def _free_bytes(settings: Settings) -> int | None:
    """Bytes free on the data directory's file system; None when it cannot be read."""
    try:
        return free_bytes(Path(settings.DATA_DIR))
    except OSError:
        return None


@router.get("", response_model=Health)
async def health(settings: SettingsDep) -> Health:
    """Always 200 while the gateway answers; `status` is degraded when a queue has no live worker (its jobs
    wait), the broker cannot be reached, or the data directory's disk is under MIN_FREE_DISK_BYTES free (or
    cannot be read), and `down` says which."""
    live = await anyio.to_thread.run_sync(_live_workers, settings, limiter=_LIMITER)
    free = await anyio.to_thread.run_sync(_free_bytes, settings, limiter=_LIMITER)
    devices = {queue: sorted(found) for queue, found in (live or {}).items() if found}
    if live is None:
        workers = dict.fromkeys(queues(), "unknown")
        down = ["the queue's broker cannot be reached (jobs cannot be queued or report progress)"]
    else:
        workers = {queue: "up" if live.get(queue) else "down" for queue in queues()}
        down = [
            f"no live worker for queue {queue} (its jobs wait)"
            for queue, state in workers.items()
            if state == "down"
        ]
    if free is None:
        down.append("the free space of the data directory cannot be read")
    elif free < settings.MIN_FREE_DISK_BYTES:
        down.append(
            f"the data directory's disk has {free} bytes free, under MIN_FREE_DISK_BYTES "
            f"({settings.MIN_FREE_DISK_BYTES}): uploads are refused (507)"
        )
    return Health(
        status="degraded" if down else "ok",
        queue="redis" if settings.BROKER_URL else "local",
        api_key_required=keys_required(settings),
        workers=workers,
        devices=devices,
        disk_free_bytes=free,
        disk_min_free_bytes=settings.MIN_FREE_DISK_BYTES,
        down=down,
    )
