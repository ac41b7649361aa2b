"""The shells of the denoise and training tasks, the same for every method.

A method's worker module registers both with `register_method_tasks(method, workflow)`, its workflow module
being the method's implementation of shared.methods.workflow.MethodWorkflow. Both are idempotent under redelivery: a job whose worker died continues the
checkpoint it left (the one resume rule, shared/training/resume.py), and a training whose model is already
registered is not run again.
"""

from __future__ import annotations

import json
from typing import Any

from celery import Task

from shared.atomic import atomic_write_text
from shared.errors import InvalidModelError, ModelNotFoundError
from shared.jobs.paths import QUALITY_NAME, residual_name
from shared.jobs.registry import access_path, delete_model, get_model, model_dir, model_error, register_model
from shared.methods import MethodName
from shared.methods.workflow import MethodWorkflow
from shared.progress import Progress
from shared.queue.app import app
from shared.queue.names import denoise_task, train_task
from shared.queue.payloads import DenoisePayload, TrainPayload
from shared.worker.step import TASK_OPTIONS, parse_payload, run_step

WORK_DIR = "model"
"""Where a job trains (a fit on its input, or a training to register) inside jobs/<id>/."""


def run_denoise_job(task: Any, payload: dict[str, Any], workflow: MethodWorkflow) -> dict[str, Any]:
    """Denoise with a registered model, or fit on the input (and its second acquisition) first."""
    job = parse_payload(DenoisePayload, payload)
    with run_step(task, job.job_id, "denoise") as step:
        quality_file = step.job_dir / QUALITY_NAME
        if step.path(job.result).is_file():  # a redelivery after it finished (its ack was lost): done
            return {
                "result": job.result,
                "model_id": job.model_id,
                "averaged": job.second is not None,
                "quality": json.loads(quality_file.read_text()) if quality_file.is_file() else None,
            }
        volume = step.read(job.input)
        second = step.read(job.second) if job.second is not None else None
        work = step.job_dir / WORK_DIR
        registered = model_dir(step.data_dir, job.model_id) if job.model_id is not None else None
        try:
            denoised = workflow.denoise_volume(
                volume,
                model_dir=registered,
                second=second,
                config=job.config,
                work_dir=work,
                repeats=job.repeats,
                volumes=job.volumes,
                progress=step.progress,
                resume=job.model_id is None and workflow.has_checkpoint(work),
                options=job.options,
            )
            step.progress(Progress(stage="assessing", fraction=0.0))
            report = workflow.assess(volume, denoised, registered or work, second=second, options=job.options)
        except (ModelNotFoundError, InvalidModelError) as exc:
            if job.model_id is None:
                raise
            # The registered model was deleted (or broken) after the job was accepted: the loader named its
            # folder on the server; the job's error names the model.
            raise model_error(exc, step.data_dir, job.model_id) from exc
        removed = volume.with_data(volume.data - denoised.data)
        step.write(
            removed, residual_name(job.result), description="residual (input - denoised)", as_new_series=True
        )
        atomic_write_text(quality_file, report.model_dump_json(indent=2))
        # The result last: its presence is what tells a redelivery that the job is done.
        step.write(denoised, job.result, keep_dtype=job.keep_dtype)
        return {
            "result": job.result,
            "model_id": job.model_id,
            "averaged": second is not None,
            "quality": report.model_dump(mode="json"),
            "elapsed_seconds": step.elapsed(),
        }


def run_training_job(task: Any, payload: dict[str, Any], workflow: MethodWorkflow) -> dict[str, Any]:
    """Train and register one model; a redelivery continues the checkpoint its predecessor left."""
    job = parse_payload(TrainPayload, payload)
    with run_step(task, job.job_id, "train") as step:
        if model_dir(step.data_dir, job.model_id).is_dir():  # a redelivery after the model was registered
            registered = get_model(step.data_dir, job.model_id)
            return {"model_id": job.model_id, "validation": registered.manifest.validation}
        work = step.job_dir / WORK_DIR
        manifest = workflow.train_model(
            job.config,
            [step.read(volume) for volume in job.inputs],
            work,
            sigma=job.sigma,
            second_acquisitions=[step.read(volume) for volume in job.second_inputs],
            repeats=job.repeats,
            volumes=job.volumes,
            progress=step.progress,
            resume=workflow.has_checkpoint(work),
        )
        step.check_cancelled()
        register_model(step.data_dir, job.model_id, work)
        if step.is_gone():
            # Deleted between the check and the registration: the model, fitted on its uploads, goes too.
            delete_model(step.data_dir, job.model_id)
            access_path(step.data_dir, job.model_id).unlink(missing_ok=True)
            step.check_cancelled()
        return {
            "model_id": job.model_id,
            "validation": manifest.validation,
            "elapsed_seconds": step.elapsed(),
        }


def register_method_tasks(method: MethodName, workflow: MethodWorkflow) -> tuple[Task, Task]:
    """Register `method`'s denoise and train tasks on the queue's app (a worker module calls this once)."""

    def denoise(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
        return run_denoise_job(self, payload, workflow)

    def train(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
        return run_training_job(self, payload, workflow)

    denoise.__doc__ = f"{method}: denoise with a registered model, or fit on the upload first."
    train.__doc__ = f"{method}: train on the uploaded volumes, then register the model."
    return (
        app.task(name=denoise_task(method), **TASK_OPTIONS)(denoise),
        app.task(name=train_task(method), **TASK_OPTIONS)(train),
    )
