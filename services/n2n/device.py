"""Where the network runs: automatic device choice, mixed precision and memory layout."""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def pick_device(device: str | None = None) -> torch.device:
    """The requested device, or CUDA when present, else the CPU."""
    if device is not None:
        chosen = torch.device(device)
        if chosen.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} was requested but CUDA is not available")
        return chosen
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[object]:
    """bfloat16 autocast on CUDA when `amp` (no loss scaling needed); full float32 elsewhere."""
    if amp and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@functools.cache
def cpu_supports_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16), from Linux's CPU flags.

    Without them bfloat16 is emulated and slower than float32; with them oneDNN's bf16 convolutions run about
    1.5x faster than float32 here (benchmarks/n2n_speed.py)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


CPU_BF16_INFERENCE = False
"""bfloat16 inference on a CPU with native bf16: measured 1.5x faster at equal quality (benchmarks/n2n_speed.py:
the prior on the dev volume 33.503 dB in 25.9 s against 33.494 dB in 39.2 s in float32), but off: the quality
report's SURE probes difference two predictions a sigma / 100 apart (shared/quality/sure.py), below bfloat16's
rounding, so they need float32 predictions, and the probes do not yet get their own precision."""


def inference_uses_bf16(device: torch.device, amp: bool = True) -> bool:
    """Whether inference on `device` runs in bfloat16: on CUDA with `amp`, on the CPU only if enabled above."""
    if device.type == "cpu":
        return amp and CPU_BF16_INFERENCE and cpu_supports_bf16()
    return amp and device.type == "cuda" and torch.cuda.is_bf16_supported()


def inference_autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[object]:
    """Mixed precision for inference: bf16 on CUDA as in training; on a CPU with native bfloat16 only when
    CPU_BF16_INFERENCE is on."""
    if device.type == "cpu" and inference_uses_bf16(device, amp):
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    return autocast(device, amp)


def inference_memory_format(device: torch.device) -> torch.memory_format:
    """channels_last for inference everywhere: on this project's CPU too it ran the U-Net 1.3-1.4x faster
    than NCHW (benchmarks/n2n_speed.py raw forward rows)."""
    return torch.channels_last


def memory_format(device: torch.device) -> torch.memory_format:
    """channels_last on CUDA, where cuDNN's tensor-core kernels want NHWC; NCHW on the CPU.

    benchmarks/n2n_speed.py measures both layouts on the CPU; NHWC gave no consistent gain there.
    """
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def prepare(device: torch.device) -> None:
    """Per-process settings for speed on CUDA: cuDNN autotuning and TF32 matmuls."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def place(module: ModuleT, device: torch.device, layout: torch.memory_format | None = None) -> ModuleT:
    """`module` on `device`, its weights in `layout` (default: the layout the device prefers)."""
    module = module.to(device)
    # torch's type stubs leave out Module.to's memory_format keyword, which the runtime has long accepted.
    return module.to(memory_format=layout or memory_format(device))  # type: ignore[call-overload]
