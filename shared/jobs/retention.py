"""Retention: a job's files (uploads, results, its fit's model) and its state are deleted after a while.

Uploads are patient scans: they must not stay on the server for ever. A job accepted more than
JOB_RETENTION_DAYS ago is purged: its folder `jobs/<id>/`, its cancellation tombstone, and with the local
queue its results in the file result store (with Redis the result keys expire by themselves: the Celery
app's `result_expires` is the same retention). The gateway sweeps once an hour; `fetal-denoise purge` does
the same by hand (or from cron). Registered models are kept: they are what the service is for, and are
deleted with DELETE /models/{id}.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from shared.errors import JobNotFoundError
from shared.jobs.paths import cancelled_root, is_valid_id, jobs_root
from shared.jobs.store import read_record, remove_job_files, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    """What one purge removed."""

    jobs: int
    tombstones: int


def _accepted(data_dir: Path, job_id: str) -> datetime | None:
    """When the job was accepted (from its record), or None when it has no readable record."""
    with contextlib.suppress(JobNotFoundError):
        return read_record(data_dir, job_id).created
    return None


def purge_jobs(
    data_dir: Path, older_than: timedelta, results_dir: Path | None = None, now: datetime | None = None
) -> PurgeReport:
    """Remove every job accepted before now - `older_than` (a folder without a readable record: by its
    age on disk), their tombstones, and their results in `results_dir` (the local queue's file store)."""
    cutoff = (now or utcnow()) - older_than
    jobs = 0
    root = jobs_root(data_dir)
    entries = list(os.scandir(root)) if root.is_dir() else []
    for entry in entries:
        if not entry.is_dir() or not is_valid_id(entry.name):
            continue
        folder = Path(entry.path)
        accepted = _accepted(data_dir, entry.name)
        if accepted is None:  # a record not written yet (its request is in flight), or a broken folder
            with contextlib.suppress(FileNotFoundError):
                if datetime.fromtimestamp(folder.stat().st_mtime, cutoff.tzinfo) >= cutoff:
                    continue
        elif accepted >= cutoff:
            continue
        remove_job_files(data_dir, entry.name)
        if results_dir is not None:
            for result in results_dir.glob(f"celery-task-meta-{entry.name}-*"):
                result.unlink(missing_ok=True)
        jobs += 1
    tombstones = 0
    for marker in cancelled_root(data_dir).glob("*") if cancelled_root(data_dir).is_dir() else []:
        with contextlib.suppress(FileNotFoundError):
            if datetime.fromtimestamp(marker.stat().st_mtime, cutoff.tzinfo) < cutoff:
                marker.unlink()
                tombstones += 1
    if jobs or tombstones:
        logger.info(
            "retention: purged %d job(s) and %d tombstone(s) older than %s", jobs, tombstones, older_than
        )
    return PurgeReport(jobs=jobs, tombstones=tombstones)
