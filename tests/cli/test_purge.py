"""`fetal-denoise purge`: the retention purge by hand."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from shared.jobs.store import JobRecord, JobStep, job_dir, utcnow, write_record


def test_purge_removes_jobs_older_than_asked_and_says_how_many(run_cli, tmp_path: Path):
    """Jobs accepted 3 and 10 days ago; --older-than-days 7 removes the older one and prints the count."""
    for job_id, days in (("recent1", 3), ("old1", 10)):
        write_record(
            tmp_path,
            JobRecord(
                id=job_id,
                kind="metrics",
                created=utcnow() - timedelta(days=days),
                steps=[JobStep(name="metrics", task="metrics.evaluate", task_id=f"{job_id}-metrics")],
            ),
        )
    result = run_cli("purge", "--data-dir", tmp_path, "--older-than-days", "7")
    assert result.code == 0, result.err
    assert result.out.strip() == f"purged 1 job(s) and 0 tombstone(s) older than 7 days from {tmp_path}"
    assert job_dir(tmp_path, "recent1").is_dir() and not job_dir(tmp_path, "old1").exists()
