"""Celery tasks of the N2V worker: the shared shells (shared/worker/jobs.py) over services.n2v.workflow.

TensorFlow is only imported inside the workflow calls (through services.n2v.tf_env, which switches on
legacy Keras first), so the prefork pool's parent never holds framework state and this module imports fast.
"""

from __future__ import annotations

from services.n2v.workflow import workflow
from shared.queue.app import app
from shared.worker.jobs import register_method_tasks

__all__ = ["app", "denoise_task", "train_task"]

denoise_task, train_task = register_method_tasks("n2v", workflow)
