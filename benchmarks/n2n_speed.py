"""N2N speed on this machine, per device: inference slices/s and seconds per 256x256x136 volume, the share
of the machine's measured 3x3-convolution throughput that reaches, and training steps/s at the default
batch size and crop (4 crops of 128x128).

Run: .venv/bin/python -m benchmarks.n2n_speed [--device cpu|cuda|all] [--threads N] [--json PATH]
Not a test: the figures depend on the machine and on what else runs on it (the load average is printed).
The peak is measured in the same run: the best rate of large 3x3 convolutions of the U-Net's own widths,
in the precision and memory layout inference uses on that device. FLOPs count 2 per multiply-add.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from services.n2n.checkpoint import save_weights
from services.n2n.data import from_clean
from services.n2n.device import autocast, cpu_supports_bf16, memory_format, place
from services.n2n.model import N2NUNet
from services.n2n.predict import LoadedN2N, denoise, load_model
from services.n2n.train import model_config_document, train
from shared.manifest import write_manifest
from shared.methods.n2n import N2NConfig
from shared.progress import Progress
from shared.volume import Volume

SHAPE_ZYX = (256, 256, 136)
"""136 sagittal slices of 256x256 (the paper's fetal slices); sagittal is array axis 2 (X) in RAS."""


def unet_flops(height: int, width: int) -> int:
    """FLOPs of one forward pass of the U-Net on one height x width slice (convolutions only)."""
    model = N2NUNet()
    total = 0

    def count(module: torch.nn.Module, _: Any, output: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(module, torch.nn.Conv2d)
        total += 2 * module.in_channels * 9 * output.shape[1] * output.shape[2] * output.shape[3]

    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.inference_mode():
        model(torch.zeros(1, 1, height, width))
    for handle in handles:
        handle.remove()
    return total


def _sync(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock timing is honest."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def _best_seconds(
    fn: Callable[[], object], device: torch.device, repeats: int, warmup: Callable[[], object] | None = None
) -> float:
    """Best wall-clock seconds of `repeats` calls after one warm-up (least disturbed by other load)."""
    (warmup or fn)()
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def peak_conv_flops(device: torch.device, layout: torch.memory_format, amp: bool) -> dict[str, Any]:
    """Best measured FLOP/s of large 3x3 convolutions (the U-Net's widths) on `device`."""
    cuda = device.type == "cuda"
    cases = [(96, 96, 128), (144, 96, 128), (48, 48, 256)]
    batch = 64 if cuda else 4
    results = {}
    with torch.inference_mode(), autocast(device, amp):
        for c_in, c_out, side in cases:
            x = torch.randn(batch, c_in, side, side, device=device).contiguous(memory_format=layout)
            w = torch.randn(c_out, c_in, 3, 3, device=device).contiguous(memory_format=layout)
            b = torch.randn(c_out, device=device)
            seconds = _best_seconds(partial(F.conv2d, x, w, b, padding=1), device, 5 if cuda else 3)
            results[f"{c_in}->{c_out} @{side}"] = 2 * batch * c_in * c_out * 9 * side * side / seconds
    name, best = max(results.items(), key=lambda item: item[1])
    return {"peak_flops": best, "peak_case": name, "all": results}


def bench_volume() -> tuple[Volume, str]:
    """A noisy 256x256x136 volume: the real MNI152 template (nilearn) when installed, else a phantom."""
    rng = np.random.default_rng(0)
    try:
        from nilearn.datasets import load_mni152_template
    except ImportError:
        z, y, x = np.meshgrid(*(np.linspace(-1, 1, n, dtype=np.float32) for n in SHAPE_ZYX), indexing="ij")
        data = (z**2 + y**2 + x**2 < 0.8) * (0.6 + 0.3 * np.cos(6 * z) * np.sin(5 * y))
        source, affine = "synthetic phantom (nilearn not installed)", np.eye(4)
    else:
        image = load_mni152_template(resolution=1)
        mni = np.asarray(image.get_fdata(), dtype=np.float32).transpose(2, 1, 0)  # (Z, Y, X)
        data = np.zeros(SHAPE_ZYX, dtype=np.float32)
        x0 = (mni.shape[2] - SHAPE_ZYX[2]) // 2
        z0, y0 = (SHAPE_ZYX[0] - mni.shape[0]) // 2, (SHAPE_ZYX[1] - mni.shape[1]) // 2
        data[z0 : z0 + mni.shape[0], y0 : y0 + mni.shape[1]] = mni[:, :, x0 : x0 + SHAPE_ZYX[2]]
        source, affine = "MNI152 template, zero-padded to 256x256, 136 central sagittal slices", image.affine
    noisy = data + rng.normal(0, 20 / 255, SHAPE_ZYX)
    return Volume(data=noisy.astype(np.float32), affine=affine), source


def temporary_model(directory: Path, device: torch.device) -> LoadedN2N:
    """An (untrained) model directory written and loaded through the service's own code; speed only."""
    config = N2NConfig()
    save_weights(directory / "model.safetensors", N2NUNet())
    (directory / "config.json").write_text(json.dumps(model_config_document(config, 988_609)))
    write_manifest(
        directory,
        method="n2n",
        framework=f"torch {torch.__version__}",
        config=config.model_dump(mode="json"),
        data={},
        validation={},
        files=["model.safetensors", "config.json"],
    )
    return load_model(directory, device=str(device))


def raw_forward_rate(
    device: torch.device, layout: torch.memory_format, batch: int, amp: bool, inference: bool = False
) -> float:
    """Slices/s of the bare network on 256x256 slices (no normalisation, no copies to and from numpy);
    `inference` uses inference's precision rule (bf16 also on a CPU with native bfloat16)."""
    model = place(N2NUNet(), device, layout).eval()
    x = torch.rand(batch, 1, 256, 256, device=device).contiguous(memory_format=layout)
    precision = cpu_bf16(device, amp) if inference else autocast(device, amp)
    with torch.inference_mode(), precision:
        seconds = _best_seconds(lambda: model(x), device, 5 if device.type == "cuda" else 2)
    return batch / seconds


def cpu_bf16(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast on a CPU with native bfloat16 (whether or not inference uses it by default), else the
    training rule: what the bf16 rows measure."""
    if amp and device.type == "cpu" and cpu_supports_bf16():
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    return autocast(device, amp)


def prior_precision_rows() -> list[dict[str, Any]]:
    """The shipped prior on the dev volume (MNI152, sigma 20, the benchmark's protocol) in float32 and in
    inference's mixed precision: equal quality is the condition for keeping bf16 on the CPU."""
    import services.n2n.inference as inference
    from benchmarks.data import draw_noisy_copies, load_mni, prepare
    from benchmarks.prior import mean_psnr
    from shared.models.builtin import PRIOR_DIR

    data = prepare(load_mni())
    volume = data.volume.with_data(draw_noisy_copies(data, 20.0).volumes[0])
    clean = data.test_slices_of(data.volume.data)
    model = load_model(PRIOR_DIR, device="cpu")
    rows = []
    rule = inference.inference_autocast
    for label, precision in (("float32", autocast), ("bf16 where native", cpu_bf16)):
        inference.inference_autocast = precision  # the one switch between the two rows
        try:
            started = time.perf_counter()
            result = denoise(volume, model).data
            seconds = time.perf_counter() - started
        finally:
            inference.inference_autocast = rule
        bf16 = label != "float32" and cpu_supports_bf16()
        rows.append(
            {
                "precision": "bf16 autocast" if bf16 else "float32",
                "layout": "channels_last",
                "psnr_sigma20": round(mean_psnr(clean, data.test_slices_of(result)), 3),
                "seconds_per_volume": round(seconds, 1),
            }
        )
    return rows


def training_steps_per_second(volume: Volume, device: torch.device, work: Path) -> float:
    """Steps/s of the service's train() at the default batch (4) and crop (128), inside the epoch.

    Timed from train()'s own step progress events (the first event is after a warm-up step; the last
    is before validation), so start-up, validation and checkpoints are left out. Differencing two
    whole runs instead drowns a few CPU steps in the jitter of validating 256x256 slices.
    """
    steps = 150 if device.type == "cuda" else 16
    config = N2NConfig(epochs=1, steps_per_epoch=steps)
    data = from_clean([volume], 20.0, config)
    events: list[tuple[int, float]] = []

    def record(event: Progress) -> None:
        if event.epoch == 0 and event.step is not None and event.seconds is not None:
            events.append((event.step, event.seconds))

    train(config, data, work / "train", device=str(device), progress=record)
    if len(events) < 2:
        raise RuntimeError(f"train() reported {len(events)} step events; cannot time its steps")
    (first_step, first_s), (last_step, last_s) = events[0], events[-1]
    return (last_step - first_step) / (last_s - first_s)


def run(device: torch.device, volume: Volume, work: Path) -> dict[str, Any]:
    """Every figure for one device."""
    cuda = device.type == "cuda"
    amp = cuda and N2NConfig().amp
    layout = memory_format(device)
    count = volume.shape[2]
    result: dict[str, Any] = {"device": _device_name(device), "precision": "bf16 autocast" if amp else "fp32"}
    result["layout"] = "channels_last" if layout == torch.channels_last else "NCHW"
    result["inference"] = (
        "bf16 autocast, channels_last" if amp else "float32, channels_last"
    )  # denoise_batch* rows: inference's own rule (services/n2n/device.py)
    peak = peak_conv_flops(device, layout, amp)
    result["peak_conv_gflops"] = round(peak["peak_flops"] / 1e9, 1)
    result["peak_case"] = peak["peak_case"]
    per_slice = unet_flops(256, 256)
    result["unet_gflops_per_256_slice"] = round(per_slice / 1e9, 2)
    loaded = temporary_model(work / "model", device)
    slab = Volume(data=volume.data[:, :, :16], affine=volume.affine)
    for batch in (8, 32) if cuda else (8,):
        seconds = _best_seconds(
            partial(denoise, volume, loaded, batch_size=batch),
            device,
            3 if cuda else 1,
            warmup=partial(denoise, slab, loaded, batch_size=batch),
        )
        rate = count / seconds
        result[f"denoise_batch{batch}"] = {
            "seconds_per_volume": round(seconds, 3),
            "slices_per_s": round(rate, 2),
            "share_of_peak": round(per_slice * rate / peak["peak_flops"], 3),
        }
    for name, fmt in (("NCHW", torch.contiguous_format), ("channels_last", torch.channels_last)):
        rate = raw_forward_rate(device, fmt, 32 if cuda else 8, amp)
        result[f"raw_forward_{name}_slices_per_s"] = round(rate, 2)
    if not cuda:
        result["cpu_native_bf16"] = cpu_supports_bf16()
        for name, fmt in (("NCHW", torch.contiguous_format), ("channels_last", torch.channels_last)):
            rate = raw_forward_rate(device, fmt, 8, True, inference=True)
            result[f"raw_forward_{name}_inference_precision_slices_per_s"] = round(rate, 2)
        result["prior_dev_volume"] = prior_precision_rows()
    steps = training_steps_per_second(volume, device, work)
    result["train_steps_per_s_batch4_crop128"] = round(steps, 3)
    result["train_share_of_peak"] = round(3 * 4 * unet_flops(128, 128) * steps / peak["peak_flops"], 3)
    return result


def _device_name(device: torch.device) -> str:
    """A readable name of the device."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU, {torch.get_num_threads()} threads of {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, measure each device, print the figures (and write them as JSON if asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] if args.device in ("cpu", "all") else []
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    volume, source = bench_volume()
    report: dict[str, Any] = {"volume": f"{volume.shape} ({source})", "torch": torch.__version__, "runs": []}
    print(f"volume {volume.shape}: {source}; torch {torch.__version__}")
    for device in devices:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(device, volume, Path(tmp))
        result["load_average"] = [round(v, 2) for v in os.getloadavg()]
        report["runs"].append(result)
        print(json.dumps(result, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
