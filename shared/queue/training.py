"""The one shell of a training task, shared by the N2N and N2V workers.

Parse the payload, skip a redelivery whose model is already registered, train in `jobs/<id>/model`
(resuming what a killed predecessor left when the method can), and register the model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.jobs.registry import get_model, model_dir, register_model
from shared.manifest import ModelManifest
from shared.queue.payloads import TrainPayload
from shared.queue.worker import parse_payload, run_step

TrainModel = Callable[..., ModelManifest]
"""A method's `workflow.train_model(config, inputs, out_dir, *, sigma, seconds, progress, resume)`."""


def run_training_job(
    task: Any,
    payload: dict[str, Any],
    *,
    train_model: TrainModel,
    parse_config: Callable[[dict[str, Any]], Any],
    can_resume: Callable[[Path], bool],
) -> dict[str, Any]:
    """Train and register one model; idempotent under redelivery."""
    job = parse_payload(TrainPayload, payload)
    with run_step(task, job.job_id, "train") as step:
        if model_dir(step.data_dir, job.model_id).is_dir():  # a redelivery after the model was registered
            registered = get_model(step.data_dir, job.model_id)
            return {"model_id": job.model_id, "validation": registered.manifest.validation}
        work = step.job_dir / "model"
        manifest = train_model(
            parse_config(job.params),
            [step.read(volume) for volume in job.inputs],
            work,
            sigma=job.sigma,
            seconds=[step.read(volume) for volume in job.seconds],
            progress=step.progress,
            resume=can_resume(work),
        )
        step.check_cancelled()
        register_model(step.data_dir, job.model_id, work)
        return {"model_id": job.model_id, "validation": manifest.validation, "seconds": step.elapsed()}
