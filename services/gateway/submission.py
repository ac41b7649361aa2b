"""Accepting a job: a fresh job folder that disappears again if anything about the request is wrong."""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.gateway.client_json import loads_client_json
from services.gateway.jobqueue import JobQueue, TaskCall
from services.gateway.schemas import Accepted
from shared.errors import ConfigError
from shared.jobs.store import JobRecord, JobStep, job_dir, new_id, write_record

logger = logging.getLogger("fetal_denoise.gateway")


@contextlib.contextmanager
def new_job_folder(data_dir: Path) -> Iterator[tuple[str, Path]]:
    """Yield (job id, its empty folder); on any error the folder is removed, so nothing half-made remains."""
    job_id = new_id()
    folder = job_dir(data_dir, job_id)
    folder.mkdir(parents=True)
    try:
        yield job_id, folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def parse_params(text: str | None) -> dict[str, Any]:
    """The `params` form field: a JSON object of config fields (absent or empty: {})."""
    if text is None or not text.strip():
        return {}
    value = loads_client_json(text, "params")
    if not isinstance(value, dict):
        raise ConfigError('params must be a JSON object of config fields, e.g. {"epochs": 2}')
    return value


def step_id(job_id: str, step: str) -> str:
    """The Celery task id of a job's step (readable in worker logs)."""
    return f"{job_id}-{step}"


def queue_job(data_dir: Path, queue: JobQueue, record: JobRecord, payloads: list[dict[str, Any]]) -> Accepted:
    """Write the job's record, then queue its steps (paired with `payloads` in order)."""
    write_record(data_dir, record)
    calls = [
        TaskCall(name=step.task, task_id=step.task_id, payload=payload)
        for step, payload in zip(record.steps, payloads, strict=True)
    ]
    queue.submit(calls)  # an unreachable broker is a JobError (503); the job folder is then removed
    steps = ",".join(step.name for step in record.steps)
    logger.info("job %s accepted: %s %s, steps %s", record.id, record.kind, record.method or "-", steps)
    return Accepted(job_id=record.id, status_url=f"/jobs/{record.id}", model_id=record.model_id)


def make_step(job_id: str, name: str, task: str) -> JobStep:
    """A step record with its task id."""
    return JobStep(name=name, task=task, task_id=step_id(job_id, name))
