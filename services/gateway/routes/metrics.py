"""POST /metrics: PSNR, RMSE and SSIM between two uploaded volumes, per volume and per slice."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from services.gateway.deps import CallerDep, DataDirDep, QueueDep, SettingsDep
from services.gateway.responses import UPLOAD_ERRORS
from services.gateway.schemas import Accepted
from services.gateway.submission import make_step, new_job_folder, queue_job
from services.gateway.uploads import store_volume
from shared.jobs.store import JobRecord, utcnow
from shared.queue.names import METRICS_EVALUATE
from shared.queue.payloads import MetricsPayload
from shared.volume import check_same_shape

router = APIRouter(prefix="/metrics", tags=["metrics"], responses=UPLOAD_ERRORS)


@router.post("", status_code=202, response_model=Accepted)
def metrics(
    settings: SettingsDep,
    data_dir: DataDirDep,
    queue: QueueDep,
    caller: CallerDep,
    prediction: Annotated[UploadFile, File(description="The volume to score.")],
    ground_truth: Annotated[UploadFile, File(description="The clean reference, same shape.")],
) -> Accepted:
    """Queue a metrics job (on the reference's data range); its metrics appear in GET /jobs/{id}."""
    with new_job_folder(data_dir) as (job_id, folder):
        predicted, volume, predicted_name = store_volume(
            prediction, folder / "inputs", "prediction", settings
        )
        reference, truth, reference_name = store_volume(
            ground_truth, folder / "inputs", "ground_truth", settings
        )
        check_same_shape(volume, truth, predicted_name, reference_name)
        payload = MetricsPayload(
            job_id=job_id, prediction=predicted, reference=reference, report=f"jobs/{job_id}/metrics.json"
        )
        record = JobRecord(
            id=job_id,
            kind="metrics",
            created=utcnow(),
            steps=[make_step(job_id, "metrics", METRICS_EVALUATE)],
            inputs={"prediction": predicted_name, "ground_truth": reference_name},
            owner=caller.name,
        )
        return queue_job(data_dir, queue, record, [payload.model_dump(mode="json")])
