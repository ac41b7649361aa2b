"""Measure the peak memory of a few real training steps, to calibrate shared/methods/cost.py.

Each measurement runs in a fresh subprocess (so one size's allocations never hide another's): it imports the
method's framework, records its resident set (RSS), builds the network and optimiser, runs `--steps` steps
of the worker's own kind on random data, and prints the growth of its peak RSS over the imported framework
(`ru_maxrss` minus the RSS after the import) next to shared.methods.cost's estimate of the same step, and
the ratio of the estimate with its framework allowance to the process's peak (above 1: an upper bound).

    PYTHONPATH=$PWD nice -n 19 .venv/bin/python -m benchmarks.step_memory n2n batch_size=8 crop_size=64
    PYTHONPATH=$PWD nice -n 19 .venv/bin/python -m benchmarks.step_memory n2v batch_size=16 patch_size=64

One thread each, so a measurement never competes with a running training for the cores.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _rss() -> int:
    """The process's resident set now, in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    """The process's peak resident set so far, in bytes (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _n2n(values: dict[str, Any], steps: int) -> tuple[int, int, int]:
    """(RSS after importing torch, peak RSS after `steps` N2N steps, parameters) for the config `values`."""
    import torch

    torch.set_num_threads(1)
    base = _rss()
    from services.n2n.model import network_for
    from shared.methods import fit_config
    from shared.methods.n2n import N2NConfig

    config = fit_config("n2n", values)
    assert isinstance(config, N2NConfig)
    side = config.crop_size or 256
    model = network_for(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    channels = 2 * config.context + 1
    for _ in range(steps):
        x = torch.randn(config.batch_size, channels, side, side)
        y = torch.randn(config.batch_size, 1, side, side)
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return base, _peak(), sum(p.numel() for p in model.parameters())


def _n2v(values: dict[str, Any], steps: int) -> tuple[int, int, int]:
    """(RSS after importing TensorFlow and n2v, peak RSS after `steps` N2V steps, parameters) for `values`."""
    import numpy as np

    from services.n2v.tf_env import N2V, quiet, tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    base = _rss()
    import tempfile

    from services.n2v.backend import backend_config
    from shared.methods import fit_config
    from shared.methods.n2v import N2VConfig

    config = fit_config("n2v", values)
    assert isinstance(config, N2VConfig)
    rng = np.random.default_rng(0)
    shape = (config.batch_size, *config.patch_shape(), 1)
    x = rng.random(shape, dtype=np.float32)
    y = np.concatenate([x, (rng.random(shape) < 0.015).astype(np.float32)], axis=-1)
    with tempfile.TemporaryDirectory() as tmp, quiet():
        model = N2V(backend_config(config, x), name="m", basedir=tmp)
        model.prepare_for_training()
        for _ in range(steps):
            model.keras_model.train_on_batch(x, y)
        parameters = model.keras_model.count_params()
    return base, _peak(), parameters


def measure(method: str, values: dict[str, Any], steps: int = 2) -> dict[str, Any]:
    """One measurement in this process: the framework's RSS, the step's peak growth and the estimate."""
    from shared.methods import fit_config
    from shared.methods.cost import step_memory

    base, peak, parameters = (_n2n if method == "n2n" else _n2v)(values, steps)
    config = fit_config(method, values)
    area = None if getattr(config, "crop_size", 0) else 256 * 256
    estimate = step_memory(config, slice_area=area)
    return {
        "method": method,
        **values,
        "parameters": parameters,
        "estimated_parameters": estimate.parameters,
        "framework_mib": round(base / 2**20),
        "measured_mib": round((peak - base) / 2**20),
        "estimate_mib": round(estimate.step_bytes / 2**20),
        # what the worker must hold: the estimate with its framework allowance against import + step
        "ratio": round((estimate.framework_bytes + estimate.step_bytes) / peak, 2),
    }


def _parse(args: list[str]) -> dict[str, Any]:
    """key=value arguments as config values (JSON values, else strings)."""
    values: dict[str, Any] = {}
    for arg in args:
        key, _, raw = arg.partition("=")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    return values


def main(argv: list[str]) -> None:
    """`step_memory METHOD key=value ...`: measure in a subprocess, print one JSON line."""
    if argv and argv[0] == "--child":
        print(json.dumps(measure(argv[1], _parse(argv[2:]))))
        return
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.step_memory", "--child", *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stdout.write(result.stdout)
    if result.returncode:
        sys.stderr.write(result.stderr[-3000:])
        raise SystemExit(result.returncode)


if __name__ == "__main__":
    main(sys.argv[1:])
