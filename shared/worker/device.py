"""Which device a worker's jobs run on: checked once at start, logged in one line, sent with its heartbeats.

A worker whose framework sees no GPU runs its jobs on the CPU (services/n2n/device.py's `pick_device`
falls back to it; TensorFlow does the same by itself): slower, never refused. Without a word about it, a GPU
host whose driver or runtime is missing looked healthy while its jobs crawled on the CPU. So each worker
checks at start and says it, in its log and in its heartbeats, which /health reads
(shared/queue/liveness.py).

The check runs the framework in a child interpreter, never in the worker's main process: the prefork pool
forks its children from that process, and a CUDA context (or TensorFlow's runtime) created before a fork is
unusable in the children. It costs the framework's import (seconds) once per worker start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.methods.registry import registry

CHECKING = "checking"
"""The device a worker reports while its check runs."""
UNKNOWN = "unknown"
"""The device a worker reports when its check failed (the framework did not import, or hung)."""
PROBE_TIMEOUT_S = 180.0

_TORCH_PROBE = """
import json, torch
gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
print(json.dumps({"cuda_build": torch.version.cuda is not None, "gpus": gpus}))
"""
_TENSORFLOW_PROBE = """
import json, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
gpus = tf.config.list_physical_devices("GPU")
names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
print(json.dumps({"cuda_build": bool(tf.test.is_built_with_cuda()), "gpus": names}))
"""
PROBES: dict[str, str] = {"torch": _TORCH_PROBE, "TensorFlow": _TENSORFLOW_PROBE}
"""The check of what each framework sees, by the name a method's registry entry gives its framework."""
FRAMEWORKS: dict[str, tuple[str, str]] = {
    spec.queue: (spec.framework, PROBES[spec.framework])
    for spec in registry().values()
    if spec.framework is not None and spec.framework in PROBES
}
"""The framework each queue's worker runs its jobs with, and the check of what it sees; the metrics queue's
work is numpy on the CPU."""


@dataclass(frozen=True)
class WorkerDevice:
    """What a worker's framework sees: its GPUs (none: the CPU), whether it is a CUDA build, or why unknown."""

    queue: str
    framework: str | None
    gpus: list[str] = field(default_factory=list)
    cuda_build: bool | None = None
    error: str | None = None

    @property
    def device(self) -> str:
        """What the heartbeats and /health say: `cpu`, `gpu: <name>` (the first, which jobs use), `unknown`."""
        if self.error is not None:
            return UNKNOWN
        if not self.gpus:
            return "cpu"
        more = f" (+{len(self.gpus) - 1} more)" if len(self.gpus) > 1 else ""
        return f"gpu: {self.gpus[0]}{more}"

    def line(self) -> str:
        """The one line the worker logs at start."""
        who = f"{self.queue} worker"
        if self.framework is None:
            return f"{who}: jobs run on the CPU (numpy; no GPU framework)"
        if self.error is not None:
            return f"{who}: could not check what {self.framework} sees ({self.error}); device unknown"
        if not self.gpus:
            build = "yes" if self.cuda_build else "no"
            return f"{who}: no GPU visible to {self.framework} (CUDA build: {build}); jobs run on the CPU"
        return f"{who}: GPU visible to {self.framework}: {', '.join(self.gpus)}; jobs run on {self.gpus[0]}"


def probe(
    queue: str, env: Mapping[str, str] | None = None, timeout_s: float = PROBE_TIMEOUT_S
) -> WorkerDevice:
    """Check, in a child interpreter with `env` (default: this process's), what `queue`'s framework sees."""
    if queue not in FRAMEWORKS:
        return WorkerDevice(queue=queue, framework=None)
    framework, code = FRAMEWORKS[queue]
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=dict(os.environ if env is None else env),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return WorkerDevice(queue=queue, framework=framework, error=type(exc).__name__)
    lines = done.stdout.strip().splitlines()
    try:
        found = json.loads(lines[-1])
        return WorkerDevice(
            queue=queue, framework=framework, gpus=list(found["gpus"]), cuda_build=bool(found["cuda_build"])
        )
    except (IndexError, ValueError, KeyError, TypeError):
        tail = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return WorkerDevice(queue=queue, framework=framework, error=tail[:200])
