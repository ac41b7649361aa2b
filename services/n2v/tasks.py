"""Celery tasks of the N2V worker: thin shells around services.n2v.workflow (the CLI's use cases too).

TensorFlow is only imported inside the workflow calls (through services.n2v.tf_env, which switches on
legacy Keras first), so the prefork pool's parent never holds framework state and this module imports fast.
"""

from __future__ import annotations

from typing import Any

from services.n2v import workflow
from services.n2v.config import parse_config
from shared.jobs.registry import model_dir
from shared.queue.app import app
from shared.queue.names import N2V_DENOISE, N2V_TRAIN
from shared.queue.payloads import DenoisePayload
from shared.queue.training import run_training_job
from shared.queue.worker import TASK_OPTIONS, parse_payload, run_step

__all__ = ["app", "denoise_task", "train_task"]


@app.task(name=N2V_DENOISE, **TASK_OPTIONS)
def denoise_task(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Denoise with a registered model, or fit N2V on the input itself (the params' budget) and predict."""
    job = parse_payload(DenoisePayload, payload)
    with run_step(self, job.job_id, "denoise") as step:
        denoised = workflow.denoise_volume(
            step.read(job.input),
            model_dir=model_dir(step.data_dir, job.model_id) if job.model_id is not None else None,
            second=step.read(job.second) if job.second is not None else None,
            config=parse_config(job.params),
            work_dir=step.job_dir / "fit",
            progress=step.progress,
        )
        step.write(denoised, job.result)
        return {"result": job.result, "model_id": job.model_id, "seconds": step.elapsed()}


@app.task(name=N2V_TRAIN, **TASK_OPTIONS)
def train_task(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Train on noisy volumes (or on clean ones + sigma, with validation PSNR), then register the model."""
    return run_training_job(
        self,
        payload,
        train_model=workflow.train_model,
        parse_config=parse_config,
        # n2v's train() continues a checkpoint of the same config and data, else starts afresh.
        can_resume=lambda _work: True,
    )
