"""Celery tasks of the N2V worker: thin shells around services.n2v's fit, train and predict.

TensorFlow is imported inside the task bodies (through services.n2v.tf_env, which switches on legacy
Keras first), so the prefork pool's parent never holds framework state and this module imports fast.
"""

from __future__ import annotations

from typing import Any

from services.n2v.config import parse_config
from shared.errors import ConfigError
from shared.jobs.registry import get_model, model_dir, register_model
from shared.queue.app import app
from shared.queue.names import N2V_DENOISE, N2V_TRAIN
from shared.queue.payloads import DenoisePayload, TrainPayload
from shared.queue.worker import TASK_OPTIONS, parse_payload, run_step

__all__ = ["app", "denoise_task", "train_task"]


@app.task(name=N2V_DENOISE, **TASK_OPTIONS)
def denoise_task(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Denoise with a registered model, or fit N2V on the input itself (the params' budget) and predict."""
    job = parse_payload(DenoisePayload, payload)
    with run_step(self, job.job_id, "denoise") as step:
        if job.second is not None:
            raise ConfigError("file2 (a second acquisition) is only used by method n2n")
        volume = step.read(job.input)
        if job.model_id is not None:
            from services.n2v.predict import denoise, load_model

            model = load_model(model_dir(step.data_dir, job.model_id))
            denoised = denoise(volume, model, progress=step.progress)
        else:
            from services.n2v.fit import fit_and_denoise

            config = parse_config(job.params)
            denoised = fit_and_denoise(volume, config, step.job_dir / "fit", progress=step.progress)
        step.write(denoised, job.result)
        return {"result": job.result, "model_id": job.model_id}


@app.task(name=N2V_TRAIN, **TASK_OPTIONS)
def train_task(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Train on noisy volumes (or on clean ones + sigma, with validation PSNR), then register the model."""
    job = parse_payload(TrainPayload, payload)
    with run_step(self, job.job_id, "train") as step:
        from services.n2v.noisy import noisy_from_clean
        from services.n2v.train import train

        if model_dir(step.data_dir, job.model_id).is_dir():  # a redelivery after the model was registered
            return {
                "model_id": job.model_id,
                "validation": get_model(step.data_dir, job.model_id).manifest.validation,
            }
        if job.seconds:
            raise ConfigError("files2 (second acquisitions) are only used by method n2n")
        config = parse_config(job.params)
        inputs = [step.read(volume) for volume in job.inputs]
        clean = inputs if job.sigma is not None else None
        noisy = noisy_from_clean(inputs, job.sigma, config.seed) if job.sigma is not None else inputs
        info = {"sigma": job.sigma} if job.sigma is not None else None
        work = step.job_dir / "model"
        # resume=True continues the checkpoint a killed worker left (same config and data), else starts afresh.
        manifest = train(
            config, noisy, work, clean=clean, progress=step.progress, resume=True, data_info=info
        )
        step.check_cancelled()
        register_model(step.data_dir, job.model_id, work)
        return {"model_id": job.model_id, "validation": manifest.validation}
