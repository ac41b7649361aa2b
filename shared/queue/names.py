"""Queue and task names: the only thing the gateway and the workers must agree on.

Each method's queue and task names come from its registry entry (shared.methods.registry): queue `<method>`,
tasks `<method>.denoise` and `<method>.train`. The metrics queue is the one queue that is not a method's.
"""

from __future__ import annotations

from typing import Final

from shared.methods.registry import method_spec, registry

QUEUE_METRICS: Final = "metrics"
METRICS_EVALUATE: Final = "metrics.evaluate"


def queues() -> tuple[str, ...]:
    """Every queue: one per method, then metrics."""
    return (*(spec.queue for spec in registry().values()), QUEUE_METRICS)


def routes() -> dict[str, str]:
    """Which queue each task runs on; a task name not listed here cannot be sent."""
    table = {METRICS_EVALUATE: QUEUE_METRICS}
    for spec in registry().values():
        table[spec.denoise_task] = spec.queue
        table[spec.train_task] = spec.queue
    return table


def denoise_task(method: str) -> str:
    """The denoise task of `method`."""
    return method_spec(method).denoise_task


def train_task(method: str) -> str:
    """The training task of `method`."""
    return method_spec(method).train_task
