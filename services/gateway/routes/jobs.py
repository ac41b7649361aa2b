"""GET /jobs/{id} (status, progress, metrics), GET /jobs/{id}/result, DELETE /jobs/{id} (cancel)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import FileResponse

from services.gateway.deps import DataDirDep, QueueDep
from services.gateway.schemas import JobView
from services.gateway.views import job_view
from shared.jobs.store import job_dir, mark_cancelled, read_record, remove_job_files

router = APIRouter(prefix="/jobs", tags=["jobs"])

_MEDIA_TYPES = {".gz": "application/gzip", ".zip": "application/zip", ".dcm": "application/dicom"}


@router.get("/{job_id}", response_model=JobView)
def status(job_id: str, data_dir: DataDirDep, queue: QueueDep) -> JobView:
    """Status (queued, running, succeeded, failed), live progress, result URL, metrics, error."""
    return job_view(read_record(data_dir, job_id), queue)


@router.get("/{job_id}/result", response_class=FileResponse)
def result(job_id: str, data_dir: DataDirDep, queue: QueueDep) -> FileResponse:
    """The denoised volume in the input's format (NIfTI with the input's header; DICOM as a derived series)."""
    record = read_record(data_dir, job_id)
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


@router.delete("/{job_id}", status_code=204)
def cancel(job_id: str, data_dir: DataDirDep, queue: QueueDep) -> Response:
    """Cancel a queued or running job and remove its files (a finished job: just remove them)."""
    record = read_record(data_dir, job_id)
    mark_cancelled(data_dir, job_id)
    queue.cancel([step.task_id for step in record.steps])
    remove_job_files(data_dir, job_id)
    return Response(status_code=204)
