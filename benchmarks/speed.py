"""`--speed`: inference time for a 256x256x136 volume (the paper's geometry) and training steps/s.

For each method, the service's own `denoise()` on the whole volume is timed next to the bare network
call on the same slices (N2N: the raw PyTorch forward pass; N2V: n2v's `predict`), so the overhead of
normalisation, slicing and tiling is visible. Training steps/s come from a short run of each service's
own `train()` (N2N: between in-epoch progress events, so without validation; N2V: its second epoch,
validation included, as n2v reports per epoch only) and, for N2N, from the bare optimiser step. Runs on CUDA
for N2N when torch sees a GPU, else on the CPU; N2V uses whatever TensorFlow sees.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from shared.atomic import atomic_write_text
from shared.volume import Volume

PAPER_SHAPE_ZYX = (256, 256, 136)
"""256x256 sagittal slices, 136 of them: the sagittal axis is X (array axis 2) with an identity affine."""


def _peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def _speed_volume(shape: tuple[int, int, int], seed: int = 0) -> Volume:
    """A volume of the given shape with a smooth head-like blob plus noise; content does not affect speed."""
    z, y, x = np.meshgrid(*(np.linspace(-1, 1, n, dtype=np.float32) for n in shape), indexing="ij")
    head = (z**2 + y**2 + x**2 < 0.8).astype(np.float32) * (0.6 + 0.3 * np.cos(6 * z) * np.sin(5 * y))
    noisy = head + np.random.default_rng(seed).normal(0, 20 / 255, shape).astype(np.float32)
    return Volume(data=noisy, affine=np.eye(4))


def _cuda() -> bool:
    """Whether torch (if installed) sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """fn()'s result and its wall-clock seconds."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _rate(events: list[tuple[int, float]]) -> float | None:
    """Steps per second between the first and last in-epoch progress events (None: too few events)."""
    inside = [(step, t) for step, t in events[:-1] if step]  # the last event is the epoch's, after validation
    if len(inside) < 2 or inside[-1][1] <= inside[0][1]:
        return None
    return round((inside[-1][0] - inside[0][0]) / (inside[-1][1] - inside[0][1]), 3)


def speed_n2n(volume: Volume, steps: int, batch_size: int, patch_size: int, work: Path) -> dict[str, Any]:
    """N2N: service train() steps/s, bare step rate, service denoise() and raw forward seconds, peak memory."""
    import torch

    from services.n2n.config import N2NConfig
    from services.n2n.data import from_clean
    from services.n2n.device import autocast, memory_format, pick_device
    from services.n2n.model import N2NUNet
    from services.n2n.predict import denoise, load_model
    from services.n2n.train import train

    device = pick_device(None)
    config = N2NConfig(epochs=1, steps_per_epoch=steps, batch_size=batch_size, crop_size=patch_size, lr=1e-4)
    data = from_clean([volume], 20, config)
    events: list[tuple[int, float]] = []
    _, train_s = _timed(
        lambda: train(
            config, data, work, progress=lambda p: events.append((p.step or 0, time.perf_counter()))
        )
    )
    model = load_model(work)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    denoise(volume, model)  # warm-up: cuDNN autotuning, allocator
    _, denoise_s = _timed(lambda: denoise(volume, model))
    slices = torch.from_numpy(np.ascontiguousarray(np.moveaxis(volume.data, 2, 0)))[:, None]
    network = model.network

    def forward(count: int) -> None:
        # The service's precision and memory layout, so the difference is the service's own overhead.
        with torch.inference_mode(), autocast(device, config.amp):
            for start in range(0, count, 8):
                network(slices[start : start + 8].to(device).contiguous(memory_format=memory_format(device)))
        if device.type == "cuda":
            torch.cuda.synchronize()

    forward(8)
    _, forward_s = _timed(lambda: forward(len(slices)))
    bare = N2NUNet().to(device)
    optimizer = torch.optim.Adam(bare.parameters(), lr=1e-4)
    x = torch.randn(batch_size, 1, patch_size, patch_size, device=device)

    def step() -> None:
        loss = torch.nn.functional.mse_loss(bare(x), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()
    _, bare_s = _timed(lambda: [step() for _ in range(steps)])
    if device.type == "cuda":
        torch.cuda.synchronize()
    gpu_peak = round(torch.cuda.max_memory_allocated() / 2**20, 1) if device.type == "cuda" else None
    return {
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(0),
        "denoise_volume_s": round(denoise_s, 3),
        "raw_forward_volume_s": round(forward_s, 3),
        "train_s_service": round(train_s, 3),
        "train_steps_per_s_service": _rate(events),
        "train_steps_per_s_bare": round(steps / bare_s, 3),
        "peak_gpu_mib": gpu_peak,
        "peak_rss_mib_so_far": _peak_rss_mib(),
    }


def speed_n2v(volume: Volume, steps: int, batch_size: int, patch_size: int, work: Path) -> dict[str, Any]:
    """N2V: service train() steps/s, service denoise() and bare n2v predict seconds, peak memory."""
    from services.n2v.config import N2VConfig
    from services.n2v.predict import denoise, load_model
    from services.n2v.tf_env import N2V, quiet, tf
    from services.n2v.train import MODEL_NAME, train

    config = N2VConfig(epochs=2, steps_per_epoch=steps, batch_size=batch_size, patch_size=patch_size)
    ends: list[float] = []
    _, train_s = _timed(
        lambda: train(config, [volume], work, progress=lambda _: ends.append(time.perf_counter()))
    )
    model = load_model(work)
    denoise(volume, model)  # warm-up: graph tracing
    _, denoise_s = _timed(lambda: denoise(volume, model))
    with quiet():
        bare = N2V(config=None, name=MODEL_NAME, basedir=str(work))
    slices = np.moveaxis(volume.data, 2, 0)

    def predict() -> None:
        with quiet():
            for image in slices:
                bare.predict(image, axes="YX")

    _, predict_s = _timed(predict)
    gpus = tf.config.list_physical_devices("GPU")
    return {
        "device": "GPU" if gpus else "CPU",
        "denoise_volume_s": round(denoise_s, 3),
        "bare_n2v_predict_volume_s": round(predict_s, 3),
        "train_s_service": round(train_s, 3),
        "train_steps_per_s_service_incl_validation": round(steps / (ends[-1] - ends[-2]), 3)
        if len(ends) >= 2
        else None,
        "peak_rss_mib_so_far": _peak_rss_mib(),
    }


def run_speed(
    shape: tuple[int, int, int] = PAPER_SHAPE_ZYX,
    steps: int | None = None,
    batch_size: int = 16,
    patch_size: int = 64,
    progress: Callable[[str], None] = print,
    out_path: Path | None = None,
) -> dict[str, Any]:
    """Measure N2N then N2V on a volume of `shape`; print and return the figures (and write them as JSON)."""
    from benchmarks.environment import machine, versions

    if steps is None:
        steps = 200 if _cuda() else 20
    volume = _speed_volume(shape)
    figures: dict[str, Any] = {
        "volume_shape_zyx": list(shape),
        "slices": shape[2],
        "training": f"{steps} steps of {batch_size} patches of {patch_size}x{patch_size}",
        "machine": machine(),
        "versions": versions(),
    }
    with tempfile.TemporaryDirectory(prefix="fetal-denoise-speed-") as tmp:
        for name, measure in (("n2n", speed_n2n), ("n2v", speed_n2v)):
            progress(f"speed: {name} on a {'x'.join(map(str, shape))} volume")
            try:
                figures[name] = measure(volume, steps, batch_size, patch_size, Path(tmp) / name)
            except Exception as exc:  # one framework missing must not hide the other's figures
                figures[name] = {"error": f"{type(exc).__name__}: {exc}"}
            progress(f"speed: {name}: {figures[name]}")
    if out_path is not None:
        atomic_write_text(out_path, json.dumps(figures, indent=1))
    return figures
