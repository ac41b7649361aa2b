"""Job records: one `jobs/<id>/job.json` per job, written by the gateway when the job is accepted.

The record says what the job is (kind, method, inputs, the task id of each step); its live state
(queued, running, progress, errors, results) is in the Celery result store under those task ids.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.atomic import atomic_write_text
from shared.errors import JobNotFoundError
from shared.jobs.paths import ID_PATTERN, cancelled_root, is_valid_id, jobs_root
from shared.methods import MethodName

RECORD_NAME = "job.json"
JobKind = Literal["denoise", "train", "metrics"]
StepName = Literal["denoise", "train", "metrics"]


class JobStep(BaseModel):
    """One Celery task of a job; a job runs its steps in order."""

    model_config = ConfigDict(extra="forbid")

    name: StepName = Field(description="What the step does.")
    task: str = Field(description="Celery task name.")
    task_id: str = Field(description="Celery task id (its state and result live under it).")


class JobRecord(BaseModel):
    """What a job is: written once, when the gateway accepts it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="Job id, also its folder name under jobs/.")
    kind: JobKind = Field(description="denoise, train or metrics.")
    method: MethodName | None = Field(default=None, description="Denoising method, if any.")
    created: datetime = Field(description="UTC time the job was accepted.")
    steps: list[JobStep] = Field(min_length=1, description="Tasks run in order; the job ends with the last.")
    inputs: dict[str, str] = Field(default_factory=dict, description="Uploaded file name of each input role.")
    input_format: str | None = Field(default=None, description="Format of the main input (result format).")
    result: str | None = Field(default=None, description="File name of the volume result under jobs/<id>/.")
    model_id: str | None = Field(default=None, description="Model used, or registered by a training job.")
    series_uid: str | None = Field(default=None, description="DICOM: the series read from the main input.")
    warnings: list[str] = Field(
        default_factory=list,
        description="What the reader had to assume about the main input (no geometry...).",
    )
    owner: str | None = Field(
        default=None,
        description="The user who submitted it (shared/users.py); none: made on a gateway without keys, or "
        "before users existed (then only admins see it).",
    )


def new_id(prefix: str = "") -> str:
    """A fresh random id (32 hex digits, optionally prefixed)."""
    return f"{prefix}{uuid.uuid4().hex}"


def job_dir(data_dir: Path, job_id: str) -> Path:
    """A job's folder; an id that could name another path is refused as not found."""
    if not is_valid_id(job_id):
        raise JobNotFoundError(f"no job with id {job_id!r}")
    return jobs_root(data_dir) / job_id


def write_record(data_dir: Path, record: JobRecord) -> Path:
    """Write a job's record atomically."""
    return atomic_write_text(job_dir(data_dir, record.id) / RECORD_NAME, record.model_dump_json(indent=2))


def read_record(data_dir: Path, job_id: str) -> JobRecord:
    """Load a job's record; a missing, cancelled or unreadable one is not found."""
    path = job_dir(data_dir, job_id) / RECORD_NAME
    if is_cancelled(data_dir, job_id) or not path.is_file():
        raise JobNotFoundError(f"no job with id {job_id!r}")
    try:
        return JobRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise JobNotFoundError(f"no job with id {job_id!r} (its record is unreadable)") from exc


def list_records(data_dir: Path) -> list[JobRecord]:
    """Every job with a readable record, newest first (ties by id); cancelled and half-written ones are left out.

    Reads every `jobs/<id>/job.json`: the cost grows with the number of jobs in the data directory.
    """
    root = jobs_root(data_dir)
    records: list[JobRecord] = []
    if root.is_dir():
        for folder in root.iterdir():
            if not folder.is_dir() or not is_valid_id(folder.name):
                continue  # hidden folders of jobs being deleted, stray files
            try:
                records.append(read_record(data_dir, folder.name))
            except JobNotFoundError:
                continue  # cancelled, or its record is not written yet
    return sorted(records, key=lambda record: (record.created, record.id), reverse=True)


def cancel_marker(data_dir: Path, job_id: str) -> Path:
    """The tombstone that tells workers a job was cancelled."""
    job_dir(data_dir, job_id)  # validates the id
    return cancelled_root(data_dir) / job_id


def mark_cancelled(data_dir: Path, job_id: str) -> None:
    """Leave a tombstone: a worker that meets this job skips or stops it and removes its files."""
    marker = cancel_marker(data_dir, job_id)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()


def is_cancelled(data_dir: Path, job_id: str) -> bool:
    """Whether the job was cancelled."""
    return cancel_marker(data_dir, job_id).exists()


def remove_job_files(data_dir: Path, job_id: str) -> None:
    """Delete a job's folder; renamed first so nobody sees it half-deleted."""
    folder = job_dir(data_dir, job_id)
    if not folder.exists():
        return
    doomed = folder.with_name(f".{job_id}.deleting.{uuid.uuid4().hex[:8]}")
    try:
        os.replace(folder, doomed)
    except FileNotFoundError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


def utcnow() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)
