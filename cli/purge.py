"""`fetal-denoise purge`: delete the jobs (uploads, results, state) accepted more than N days ago."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer


def purge_command(
    data_dir: Annotated[
        Path, typer.Option(envvar="DATA_DIR", help="The service's data directory (jobs/ lives here).")
    ] = Path("data"),
    older_than_days: Annotated[
        float | None,
        typer.Option(
            min=0.0, help="Age in days past which a job is purged; default: JOB_RETENTION_DAYS (14)."
        ),
    ] = None,
) -> None:
    """Purge the jobs accepted more than N days ago: their uploads, results and state (models are kept).

    A job still queued or running is cancelled: its worker stops at its next progress event and removes
    what it wrote meanwhile (a fitted model too). The service does the same every hour by itself; this is
    for a purge now, or from cron with 0 retention.
    """
    from shared.jobs.retention import purge_jobs
    from shared.queue.app import queue_dir, uses_local_queue
    from shared.settings import Settings

    settings = Settings(DATA_DIR=data_dir)
    days = settings.JOB_RETENTION_DAYS if older_than_days is None else older_than_days
    results = queue_dir(settings) / "results" if uses_local_queue(settings) else None
    report = purge_jobs(data_dir, timedelta(days=days), results)
    typer.echo(
        f"purged {report.jobs} job(s) and {report.tombstones} tombstone(s) older than {days:g} days from {data_dir}"
    )
