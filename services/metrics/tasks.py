"""Celery task of the metrics worker: score a volume against its ground truth (shared.metrics)."""

from __future__ import annotations

from typing import Any

from shared.atomic import atomic_write_text
from shared.metrics import evaluate
from shared.progress import Progress
from shared.queue.app import app
from shared.queue.names import METRICS_EVALUATE
from shared.queue.payloads import MetricsPayload
from shared.volume import check_same_shape
from shared.worker.step import TASK_OPTIONS, parse_payload, run_step

__all__ = ["app", "evaluate_task"]


@app.task(name=METRICS_EVALUATE, **TASK_OPTIONS)
def evaluate_task(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """PSNR / RMSE / SSIM per volume and per slice, on the reference's data range; writes metrics.json."""
    job = parse_payload(MetricsPayload, payload)
    with run_step(self, job.job_id, "metrics") as step:
        prediction = step.read(job.prediction)
        reference = step.read(job.reference)
        check_same_shape(prediction, reference, job.prediction.name, job.reference.name)
        step.progress(Progress(stage="metrics", fraction=0.0))
        report = evaluate(prediction.data, reference.data)
        atomic_write_text(step.path(job.report), report.model_dump_json(indent=2))
        step.progress(Progress(stage="metrics", fraction=1.0))
        return report.model_dump(mode="json")
