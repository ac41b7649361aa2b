"""Retention: a job's files (uploads, results, its fit's model) and its state are deleted after a while.

Uploads are patient scans: they must not stay on the server for ever. A job accepted more than
JOB_RETENTION_DAYS ago is purged: its folder `jobs/<id>/`, its cancellation tombstone, and with the local
queue its results in the file result store (with Redis the result keys expire by themselves: the Celery
app's `result_expires` is the same retention). A purged job that is still queued or running is cancelled
first (a tombstone, as DELETE /jobs/{id} leaves): its worker stops at its next progress event and removes
whatever it wrote after the purge, a fitted model included (shared/worker/step.py). The gateway sweeps once an hour; `fetal-denoise purge` does
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
from shared.jobs.registry import access_path, model_dir
from shared.jobs.store import JobRecord, mark_cancelled, read_record, remove_job_files, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    """What one purge removed."""

    jobs: int
    tombstones: int


def _record(data_dir: Path, job_id: str) -> JobRecord | None:
    """The job's record, or None when it has no readable one."""
    with contextlib.suppress(JobNotFoundError):
        return read_record(data_dir, job_id)
    return None


def _forget_unborn_model(data_dir: Path, record: JobRecord) -> None:
    """A training purged before its model was registered: the model's owner record goes too (as on DELETE)."""
    if record.kind == "train" and record.model_id and not model_dir(data_dir, record.model_id).exists():
        access_path(data_dir, record.model_id).unlink(missing_ok=True)


def purge_jobs(
    data_dir: Path, older_than: timedelta, results_dir: Path | None = None, now: datetime | None = None
) -> PurgeReport:
    """Remove every job accepted before now - `older_than` (a folder without a readable record: by its
    age on disk), their tombstones, and their results in `results_dir` (the local queue's file store)."""
    cutoff = (now or utcnow()) - older_than
    purged: set[str] = set()
    root = jobs_root(data_dir)
    entries = list(os.scandir(root)) if root.is_dir() else []
    for entry in entries:
        if not entry.is_dir() or not is_valid_id(entry.name):
            continue
        folder = Path(entry.path)
        record = _record(data_dir, entry.name)
        if record is None:  # a record not written yet (its request is in flight), or a broken folder
            with contextlib.suppress(FileNotFoundError):
                if datetime.fromtimestamp(folder.stat().st_mtime, cutoff.tzinfo) >= cutoff:
                    continue
        elif record.created >= cutoff:
            continue
        # The tombstone first: a worker still on this job stops, and removes what it writes after this.
        mark_cancelled(data_dir, entry.name)
        remove_job_files(data_dir, entry.name)
        if record is not None:
            _forget_unborn_model(data_dir, record)
        if results_dir is not None:
            for result in results_dir.glob(f"celery-task-meta-{entry.name}-*"):
                result.unlink(missing_ok=True)
        purged.add(entry.name)
    jobs = len(purged)
    tombstones = 0
    for marker in cancelled_root(data_dir).glob("*") if cancelled_root(data_dir).is_dir() else []:
        if marker.name in purged or (root / marker.name).exists():
            # Just left by this purge, or its job still has a folder (a worker not yet stopped, or one that
            # died mid-step): the tombstone is what makes a worker remove it, so it stays until that is done.
            continue
        with contextlib.suppress(FileNotFoundError):
            if datetime.fromtimestamp(marker.stat().st_mtime, cutoff.tzinfo) < cutoff:
                marker.unlink()
                tombstones += 1
    if jobs or tombstones:
        logger.info(
            "retention: purged %d job(s) and %d tombstone(s) older than %s", jobs, tombstones, older_than
        )
    return PurgeReport(jobs=jobs, tombstones=tombstones)
