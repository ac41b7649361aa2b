"""The toy method's worker: the shared task shells over its workflow (as services/<method>/tasks.py)."""

from __future__ import annotations

from shared.queue.app import app
from shared.worker.jobs import register_method_tasks
from tests.shared.methods.toy_method import workflow

__all__ = ["app", "denoise_task", "train_task"]

denoise_task, train_task = register_method_tasks("toy", workflow)
