"""The gateway's hourly sweep of expired jobs (shared/jobs/retention.py), run off the event loop."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import anyio

from shared.jobs.retention import purge_jobs
from shared.queue.app import queue_dir, uses_local_queue
from shared.settings import Settings

SWEEP_INTERVAL_S = 3600.0
logger = logging.getLogger("fetal_denoise.gateway")


def purge_expired(settings: Settings) -> None:
    """Purge the jobs accepted more than JOB_RETENTION_DAYS ago (nothing when it is 0)."""
    if settings.JOB_RETENTION_DAYS <= 0:
        return
    results = queue_dir(settings) / "results" if uses_local_queue(settings) else None
    purge_jobs(Path(settings.DATA_DIR), timedelta(days=settings.JOB_RETENTION_DAYS), results)


async def sweep_expired_jobs(settings: Settings, interval_s: float = SWEEP_INTERVAL_S) -> None:
    """At start-up, then every `interval_s`: purge expired jobs in a worker thread."""
    while True:
        try:
            await anyio.to_thread.run_sync(purge_expired, settings)
        except Exception:  # a failed sweep (a folder in use, a disk error) is retried at the next one
            logger.exception("retention sweep failed")
        await asyncio.sleep(interval_s)
