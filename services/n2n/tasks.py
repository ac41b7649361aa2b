"""Celery tasks of the N2N worker: thin shells around services.n2n.workflow (the CLI's use cases too).

PyTorch is only imported inside the workflow calls, so the prefork pool's parent never holds framework
state (a CUDA context cannot survive a fork) and this module imports without torch.
"""

from __future__ import annotations

from typing import Any

from services.n2n import workflow
from services.n2n.config import parse_config
from shared.jobs.registry import model_dir
from shared.queue.app import app
from shared.queue.names import N2N_DENOISE, N2N_TRAIN
from shared.queue.payloads import DenoisePayload
from shared.queue.training import run_training_job
from shared.queue.worker import TASK_OPTIONS, parse_payload, run_step

__all__ = ["app", "denoise_task", "train_task"]


def _resumable(work_dir: Any) -> bool:
    """Whether a redelivered job can continue the checkpoint its killed predecessor left."""
    from services.n2n.checkpoint import has_checkpoint

    return has_checkpoint(work_dir)


@app.task(name=N2N_DENOISE, **TASK_OPTIONS)
def denoise_task(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Denoise with a registered model, or train on the (input, second) pair first; average with `second`."""
    job = parse_payload(DenoisePayload, payload)
    with run_step(self, job.job_id, "denoise") as step:
        volume = step.read(job.input)
        second = step.read(job.second) if job.second is not None else None
        work = step.job_dir / "model"
        denoised = workflow.denoise_volume(
            volume,
            model_dir=model_dir(step.data_dir, job.model_id) if job.model_id is not None else None,
            second=second,
            config=parse_config(job.params),
            work_dir=work,
            progress=step.progress,
            resume=job.model_id is None and _resumable(work),
        )
        step.write(denoised, job.result)
        return {
            "result": job.result,
            "model_id": job.model_id,
            "averaged": second is not None,
            "seconds": step.elapsed(),
        }


@app.task(name=N2N_TRAIN, **TASK_OPTIONS)
def train_task(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Train from clean volumes + sigma (the paper's protocol) or from noisy pairs, then register the model."""
    return run_training_job(
        self,
        payload,
        train_model=workflow.train_model,
        parse_config=parse_config,
        can_resume=_resumable,
    )
