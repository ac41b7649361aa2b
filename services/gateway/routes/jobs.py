"""GET /jobs (list), GET /jobs/{id} (status, progress, metrics), its result and previews, DELETE (cancel).

Each caller lists and reaches only their own jobs (an admin: every job); another user's job is a 404.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import FileResponse

from services.gateway.access import caller_job, owns
from services.gateway.deps import CallerDep, DataDirDep, QueueDep, SettingsDep
from services.gateway.jobqueue import JobQueue
from services.gateway.pagination import CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT, paginate
from services.gateway.previews import PreviewKind, preview_file, result_file
from services.gateway.responses import JOB_ERRORS, errors
from services.gateway.schemas import JobPage, JobSummary, JobView
from services.gateway.views import job_view
from shared.jobs.paths import residual_name
from shared.jobs.registry import access_path, model_dir
from shared.jobs.store import JobRecord, job_dir, list_records, mark_cancelled, remove_job_files

logger = logging.getLogger("fetal_denoise.gateway")
router = APIRouter(prefix="/jobs", tags=["jobs"], responses=JOB_ERRORS)

_MEDIA_TYPES = {".gz": "application/gzip", ".zip": "application/zip", ".dcm": "application/dicom"}
NO_STORE = {"Cache-Control": "no-store"}
"""Volumes are patient data: no browser or proxy cache keeps a copy."""


@router.get("", response_model=JobPage)
def list_jobs(
    data_dir: DataDirDep,
    queue: QueueDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Jobs per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            pattern=CURSOR_PATTERN, description="`next_cursor` of the previous page; none: the newest jobs."
        ),
    ] = None,
) -> JobPage:
    """The caller's jobs (an admin: every job) newest first, a page at a time, each with its status; file
    names, metrics and errors are in GET /jobs/{id}, the job's own view."""
    mine = [record for record in list_records(data_dir) if owns(caller, record.owner)]
    records, next_cursor = paginate(mine, lambda record: (record.created, record.id), limit, cursor)
    return JobPage(items=[_summary(record, queue) for record in records], next_cursor=next_cursor)


def _summary(record: JobRecord, queue: JobQueue) -> JobSummary:
    """The listing form of a job."""
    view = job_view(record, queue)
    return JobSummary(
        job_id=view.job_id,
        kind=view.kind,
        method=view.method,
        status=view.status,
        step=view.step,
        progress=view.progress,
        created=view.created,
        result=view.result,
        model_id=view.model_id,
        owner=view.owner,
        has_metrics=view.metrics is not None,
    )


@router.get("/{job_id}", response_model=JobView)
def status(job_id: str, data_dir: DataDirDep, queue: QueueDep, caller: CallerDep) -> JobView:
    """Status (queued, running, succeeded, failed), live progress, result URL, metrics, error."""
    return job_view(caller_job(data_dir, job_id, caller), queue)


@router.get("/{job_id}/result", response_class=FileResponse)
def result(job_id: str, data_dir: DataDirDep, queue: QueueDep, caller: CallerDep) -> FileResponse:
    """The denoised volume in the input's format (NIfTI with the input's header; DICOM as a derived series)."""
    record = caller_job(data_dir, job_id, caller)
    if record.result is None:
        where = f"; its model is /models/{record.model_id}" if record.model_id else ""
        raise HTTPException(
            status_code=404, detail=f"job {job_id} is a {record.kind} job with no volume result{where}"
        )
    view = job_view(record, queue)
    path = job_dir(data_dir, job_id) / record.result
    if view.status != "succeeded" or not path.is_file():
        raise HTTPException(status_code=409, detail=f"job {job_id} is {view.status}; it has no result yet")
    stem = record.inputs.get("file", "volume").split(".", 1)[0]
    suffix = record.result.removeprefix("result")
    return FileResponse(
        path,
        media_type=_MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
        filename=f"{stem}_denoised{suffix}",
    )


@router.get("/{job_id}/residual", response_class=FileResponse)
def residual(job_id: str, data_dir: DataDirDep, queue: QueueDep, caller: CallerDep) -> FileResponse:
    """What the denoising removed (input - result, in the input's units and format; a DICOM input gives a new
    series in its study, since a signed residual does not fit the input's stored type)."""
    record = caller_job(data_dir, job_id, caller)
    if record.result is None:
        raise HTTPException(status_code=404, detail=f"job {job_id} is a {record.kind} job with no residual")
    view = job_view(record, queue)
    path = job_dir(data_dir, job_id) / residual_name(record.result)
    if view.status != "succeeded" or not path.is_file():
        raise HTTPException(status_code=409, detail=f"job {job_id} is {view.status}; it has no residual yet")
    stem = record.inputs.get("file", "volume").split(".", 1)[0]
    return FileResponse(
        path,
        media_type=_MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
        filename=f"{stem}_residual{record.result.removeprefix('result')}",
    )


@router.get(
    "/{job_id}/preview/{kind}",
    response_class=FileResponse,
    # 507: a preview is derived and cached on first use, which needs room on the disk
    responses={
        200: {"content": {"application/gzip": {}}, "description": "A gzipped NIfTI volume."},
        **errors(507),
    },
)
def preview(
    job_id: str,
    kind: PreviewKind,
    data_dir: DataDirDep,
    settings: SettingsDep,
    queue: QueueDep,
    caller: CallerDep,
) -> FileResponse:
    """A denoising job's input, result or difference (input - result, in the input's units) as gzipped NIfTI
    with the input's geometry, whatever the upload's format: what the web page's viewer loads. The input is
    there from the start; the result and the difference once the job has succeeded (409 before)."""
    record = caller_job(data_dir, job_id, caller)
    if record.kind != "denoise":
        raise HTTPException(
            status_code=404, detail=f"job {job_id} is a {record.kind} job: it has no volume to preview"
        )
    if kind != "input":
        view = job_view(record, queue)
        if view.status != "succeeded" or not result_file(data_dir, record).is_file():
            raise HTTPException(
                status_code=409, detail=f"job {job_id} is {view.status}; it has no result yet"
            )
    path = preview_file(data_dir, record, kind, settings)
    return FileResponse(path, media_type="application/gzip", filename=f"{kind}.nii.gz", headers=NO_STORE)


@router.delete("/{job_id}", status_code=204)
def cancel(job_id: str, data_dir: DataDirDep, queue: QueueDep, caller: CallerDep) -> Response:
    """Cancel a queued or running job and remove its files (a finished job: just remove them)."""
    record = caller_job(data_dir, job_id, caller)
    mark_cancelled(data_dir, job_id)
    queue.cancel([step.task_id for step in record.steps])
    remove_job_files(data_dir, job_id)
    if record.kind == "train" and record.model_id and not model_dir(data_dir, record.model_id).exists():
        # The model never came to be: its owner record, written when the training was accepted, goes too.
        access_path(data_dir, record.model_id).unlink(missing_ok=True)
    logger.info("job %s cancelled and its files removed", job_id)
    return Response(status_code=204)
