"""What a caller may see of the jobs and models: their own, shared models, and everything for an admin.

Anything a caller may not see is answered exactly as an id that does not exist (404, same message), so a
user cannot learn which ids are someone else's.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import HTTPException

from services.gateway.auth import Caller
from shared.errors import JobNotFoundError, ModelNotFoundError
from shared.jobs.registry import ModelAccess, ModelEntry, get_model, read_access
from shared.jobs.store import JobRecord, read_record
from shared.methods import MethodName


def owns(caller: Caller, owner: str | None) -> bool:
    """Whether the caller may see and delete what `owner` made: theirs, or any if they are an admin."""
    return caller.admin or (owner is not None and owner == caller.name)


def caller_job(data_dir: Path, job_id: str, caller: Caller) -> JobRecord:
    """A job's record if the caller may see it; else not found, as an unknown id is."""
    record = read_record(data_dir, job_id)
    if not owns(caller, record.owner):
        raise JobNotFoundError(f"no job with id {job_id!r}")
    return record


def may_use(caller: Caller, access: ModelAccess) -> bool:
    """Whether the caller may see a model and denoise with it: theirs, shared, or any for an admin."""
    return access.shared or owns(caller, access.owner)


def caller_model(
    data_dir: Path, model_id: str, caller: Caller, expected_method: MethodName | None = None
) -> tuple[ModelEntry, ModelAccess]:
    """A model and its access if the caller may use it; else not found, as an unknown id is."""
    access = read_access(data_dir, model_id)
    if not may_use(caller, access):
        raise ModelNotFoundError(f"no model with id {model_id!r}")
    return get_model(data_dir, model_id, expected_method=expected_method), access


def check_may_change(caller: Caller, model_id: str, access: ModelAccess) -> None:
    """Deleting a model is for its owner or an admin; a user who only shares it is told so (403: a shared
    model's id is no secret to them)."""
    if not owns(caller, access.owner):
        raise HTTPException(
            status_code=403,
            detail=f"model {model_id} is shared with you; only its owner or an admin may change it",
        )
