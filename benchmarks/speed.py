"""`--speed`: inference time for a 256x256x136 volume (the paper's geometry), training steps/s, peak memory.

The measurements are the services' own speed benchmarks, reused as they are:
- N2N, `benchmarks.n2n_speed.run` per device (CPU, and CUDA when torch sees it): the service's
  `denoise()` on the whole volume next to the raw PyTorch forward pass, and `train()` steps/s;
- N2V, `benchmarks.n2v_speed.measure`: the service's `denoise()` next to n2v's bare `predict`, and
  `train()` steps/s next to the bare Keras step.
Each runs in a fresh Python process, so its peak resident memory (and, for CUDA, peak GPU memory) is its
own and PyTorch and TensorFlow never share a process here.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shared.atomic import atomic_write_text

METHODS = ("n2n", "n2v")


def _peak_rss_mib() -> float:
    """Peak resident memory of this process, MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def measure_n2n() -> dict[str, Any]:
    """benchmarks.n2n_speed on the CPU and, when present, CUDA; with peak GPU memory per device."""
    import torch

    from benchmarks import n2n_speed

    volume, source = n2n_speed.bench_volume()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    runs = []
    for device in devices:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        with tempfile.TemporaryDirectory(prefix="fetal-denoise-speed-") as tmp:
            result = n2n_speed.run(device, volume, Path(tmp))
        if device.type == "cuda":
            result["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        runs.append(result)
    return {"volume": f"{volume.shape} ({source})", "runs": runs, "peak_rss_mib": _peak_rss_mib()}


def measure_n2v(steps: int = 30, repeats: int = 2) -> dict[str, Any]:
    """benchmarks.n2v_speed.measure, with the peak resident memory of the process."""
    from benchmarks import n2v_speed

    with tempfile.TemporaryDirectory(prefix="fetal-denoise-speed-") as tmp:
        figures = n2v_speed.measure(steps, repeats, Path(tmp) / "model")
    return {**figures, "peak_rss_mib": _peak_rss_mib()}


def _in_subprocess(method: str) -> dict[str, Any]:
    """Run one method's measurement in a fresh interpreter; its figures, or the error it ended with."""
    with tempfile.TemporaryDirectory(prefix="fetal-denoise-speed-") as tmp:
        out = Path(tmp) / f"{method}.json"
        try:
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.speed", method, "--json", str(out)],
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as exc:
            return {"error": f"could not start the measurement: {exc}"}
        if done.returncode != 0 or not out.is_file():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return {"error": f"exit code {done.returncode}: {tail[0]}"}
        return json.loads(out.read_text(encoding="utf-8"))


def run_speed(
    progress: Callable[[str], None] = print,
    out_path: Path | None = None,
    methods: Sequence[str] = METHODS,
) -> dict[str, Any]:
    """Measure N2N then N2V, each in its own process; print and return the figures (and write them as JSON)."""
    from benchmarks.environment import machine, versions

    figures: dict[str, Any] = {"machine": machine(), "versions": versions()}
    for method in methods:
        progress(f"speed: measuring {method} (a 256x256x136 volume; minutes on a CPU)")
        figures[method] = _in_subprocess(method)
        progress(f"speed: {method}: {json.dumps(figures[method], indent=1)}")
    if out_path is not None:
        atomic_write_text(out_path, json.dumps(figures, indent=1))
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Subprocess entry point: `python -m benchmarks.speed n2n|n2v --json PATH`."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.splitlines()[0])
    parser.add_argument("method", choices=METHODS)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args(argv)
    figures = measure_n2n() if args.method == "n2n" else measure_n2v()
    atomic_write_text(args.json, json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
