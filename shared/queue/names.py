"""Queue and task names: the only thing the gateway and the workers must agree on."""

from __future__ import annotations

from typing import Final

QUEUE_N2N: Final = "n2n"
QUEUE_N2V: Final = "n2v"
QUEUE_METRICS: Final = "metrics"
QUEUES: Final = (QUEUE_N2N, QUEUE_N2V, QUEUE_METRICS)

N2N_DENOISE: Final = "n2n.denoise"
N2N_TRAIN: Final = "n2n.train"
N2V_DENOISE: Final = "n2v.denoise"
N2V_TRAIN: Final = "n2v.train"
METRICS_EVALUATE: Final = "metrics.evaluate"

ROUTES: Final[dict[str, str]] = {
    N2N_DENOISE: QUEUE_N2N,
    N2N_TRAIN: QUEUE_N2N,
    N2V_DENOISE: QUEUE_N2V,
    N2V_TRAIN: QUEUE_N2V,
    METRICS_EVALUATE: QUEUE_METRICS,
}
"""Which queue each task runs on; a task name not listed here cannot be sent."""

DENOISE_TASKS: Final = {"n2n": N2N_DENOISE, "n2v": N2V_DENOISE}
TRAIN_TASKS: Final = {"n2n": N2N_TRAIN, "n2v": N2V_TRAIN}
