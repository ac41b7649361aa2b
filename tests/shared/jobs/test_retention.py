"""Retention: jobs accepted more than JOB_RETENTION_DAYS ago are purged, with their state; recent ones stay."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from shared.jobs.registry import ModelAccess, access_path, write_access
from shared.jobs.retention import purge_jobs
from shared.jobs.store import (
    JobRecord,
    JobStep,
    is_cancelled,
    job_dir,
    mark_cancelled,
    utcnow,
    write_record,
)


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


def test_a_purged_job_is_cancelled_and_its_tombstone_outlives_its_folder(tmp_path: Path):
    """A purged job may still be running: it gets a tombstone (its worker stops and cleans up), which a later
    purge keeps while a folder of the job is there (the worker wrote again) and sweeps once it is gone."""
    _job(tmp_path, "busy1", timedelta(days=15))
    assert purge_jobs(tmp_path, timedelta(days=14)).jobs == 1
    assert is_cancelled(tmp_path, "busy1")
    job_dir(tmp_path, "busy1").mkdir(parents=True)  # the worker's next write, before it noticed
    long_ago = (utcnow() - timedelta(days=20)).timestamp()
    os.utime(tmp_path / "cancelled" / "busy1", (long_ago, long_ago))
    assert purge_jobs(tmp_path, timedelta(days=14)).tombstones == 0
    assert is_cancelled(tmp_path, "busy1")
    job_dir(tmp_path, "busy1").rmdir()  # the worker's step ended: it removed the folder
    assert purge_jobs(tmp_path, timedelta(days=14)).tombstones == 1
    assert not is_cancelled(tmp_path, "busy1")


def test_a_training_purged_before_its_model_exists_loses_the_model_owner_record(tmp_path: Path):
    """The owner record written when a training was accepted goes with the job if no model came of it."""
    record = JobRecord(
        id="train1",
        kind="train",
        method="n2v",
        created=utcnow() - timedelta(days=15),
        steps=[JobStep(name="train", task="n2v.train", task_id="train1-train")],
        model_id="n2v-model-1",
    )
    write_record(tmp_path, record)
    write_access(tmp_path, "n2v-model-1", ModelAccess(owner="alice"))
    assert purge_jobs(tmp_path, timedelta(days=14)).jobs == 1
    assert not access_path(tmp_path, "n2v-model-1").exists()
