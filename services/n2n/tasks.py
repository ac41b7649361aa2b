"""Celery tasks of the N2N worker: the shared shells (shared/worker/jobs.py) over services.n2n.workflow.

PyTorch is only imported inside the workflow calls, so the prefork pool's parent never holds framework
state (a CUDA context cannot survive a fork) and this module imports without torch.
"""

from __future__ import annotations

from services.n2n.workflow import workflow
from shared.queue.app import app
from shared.worker.jobs import register_method_tasks

__all__ = ["app", "denoise_task", "train_task"]

denoise_task, train_task = register_method_tasks("n2n", workflow)
