"""Retention: jobs accepted more than JOB_RETENTION_DAYS ago are purged, with their state; recent ones stay."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from shared.jobs.retention import purge_jobs
from shared.jobs.store import JobRecord, JobStep, job_dir, mark_cancelled, utcnow, write_record


def _job(data_dir: Path, job_id: str, age: timedelta) -> Path:
    """A job accepted `age` ago, with an upload."""
    record = JobRecord(
        id=job_id,
        kind="metrics",
        created=utcnow() - age,
        steps=[JobStep(name="metrics", task="metrics.evaluate", task_id=f"{job_id}-metrics")],
        inputs={"prediction": "scan.nii.gz"},
    )
    write_record(data_dir, record)
    (job_dir(data_dir, job_id) / "inputs").mkdir()
    (job_dir(data_dir, job_id) / "inputs" / "prediction.nii.gz").write_bytes(b"patient data")
    return job_dir(data_dir, job_id)


def test_expired_jobs_are_purged_with_their_results_and_recent_ones_kept(tmp_path: Path):
    """A job 15 days old goes (folder and file results); one a day old stays; an old tombstone goes."""
    results = tmp_path / "results"
    results.mkdir()
    old, recent = _job(tmp_path, "old1", timedelta(days=15)), _job(tmp_path, "new1", timedelta(days=1))
    (results / "celery-task-meta-old1-metrics").write_text("{}")
    (results / "celery-task-meta-new1-metrics").write_text("{}")
    mark_cancelled(tmp_path, "gone1")
    long_ago = (utcnow() - timedelta(days=20)).timestamp()
    os.utime(tmp_path / "cancelled" / "gone1", (long_ago, long_ago))

    report = purge_jobs(tmp_path, timedelta(days=14), results)

    assert (report.jobs, report.tombstones) == (1, 1)
    assert not old.exists() and recent.is_dir()
    assert [p.name for p in results.iterdir()] == ["celery-task-meta-new1-metrics"]
    assert not (tmp_path / "cancelled" / "gone1").exists()


def test_a_folder_without_a_record_is_judged_by_its_age(tmp_path: Path):
    """A request still storing its uploads (no record yet) is left alone; an abandoned one is purged."""
    fresh = job_dir(tmp_path, "inflight1")
    fresh.mkdir(parents=True)
    stale = job_dir(tmp_path, "stale1")
    stale.mkdir(parents=True)
    long_ago = (utcnow() - timedelta(days=30)).timestamp()
    os.utime(stale, (long_ago, long_ago))
    assert purge_jobs(tmp_path, timedelta(days=14)).jobs == 1
    assert fresh.is_dir() and not stale.exists()
