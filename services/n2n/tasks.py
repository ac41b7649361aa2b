"""Celery tasks of the N2N worker: thin shells around services.n2n's train and predict.

PyTorch is imported inside the task bodies, so the prefork pool's parent never holds framework state
(a CUDA context cannot survive a fork) and this module imports without torch.
"""

from __future__ import annotations

from typing import Any

from services.n2n.config import parse_config
from shared.errors import ConfigError
from shared.jobs.registry import get_model, model_dir, register_model
from shared.queue.app import app
from shared.queue.names import N2N_DENOISE, N2N_TRAIN
from shared.queue.payloads import DenoisePayload, TrainPayload
from shared.queue.worker import TASK_OPTIONS, parse_payload, run_step

__all__ = ["app", "denoise_task", "train_task"]


@app.task(name=N2N_DENOISE, **TASK_OPTIONS)
def denoise_task(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Denoise with a registered model, or train on the (input, second) pair first; average with `second`."""
    job = parse_payload(DenoisePayload, payload)
    with run_step(self, job.job_id, "denoise") as step:
        from services.n2n.checkpoint import has_checkpoint
        from services.n2n.data import from_pairs
        from services.n2n.predict import denoise, load_model
        from services.n2n.train import train

        volume = step.read(job.input)
        second = step.read(job.second) if job.second is not None else None
        if job.model_id is not None:
            model = load_model(model_dir(step.data_dir, job.model_id))
        elif second is not None:
            config = parse_config(job.params)
            work = step.job_dir / "model"
            data = from_pairs([volume], [second], config)
            train(config, data, work, progress=step.progress, resume=has_checkpoint(work))
            model = load_model(work)
        else:
            raise ConfigError(
                "method n2n without model_id needs file2, a second noisy acquisition to train on"
            )
        denoised = denoise(volume, model, second=second, progress=step.progress)
        step.write(denoised, job.result)
        return {"result": job.result, "model_id": job.model_id, "averaged": second is not None}


@app.task(name=N2N_TRAIN, **TASK_OPTIONS)
def train_task(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Train from clean volumes + sigma (the paper's protocol) or from noisy pairs, then register the model."""
    job = parse_payload(TrainPayload, payload)
    with run_step(self, job.job_id, "train") as step:
        from services.n2n.checkpoint import has_checkpoint
        from services.n2n.data import from_clean, from_pairs
        from services.n2n.train import train

        if model_dir(step.data_dir, job.model_id).is_dir():  # a redelivery after the model was registered
            return {
                "model_id": job.model_id,
                "validation": get_model(step.data_dir, job.model_id).manifest.validation,
            }
        config = parse_config(job.params)
        inputs = [step.read(volume) for volume in job.inputs]
        if job.sigma is not None:
            data = from_clean(inputs, job.sigma, config)
        elif job.seconds:
            data = from_pairs(inputs, [step.read(volume) for volume in job.seconds], config)
        else:
            raise ConfigError("n2n training needs sigma (clean inputs) or files2 (second noisy acquisitions)")
        work = step.job_dir / "model"
        manifest = train(config, data, work, progress=step.progress, resume=has_checkpoint(work))
        step.check_cancelled()
        register_model(step.data_dir, job.model_id, work)
        return {"model_id": job.model_id, "validation": manifest.validation}
