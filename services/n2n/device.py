"""Where the network runs: automatic device choice, mixed precision and memory layout."""

from __future__ import annotations

import contextlib
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
