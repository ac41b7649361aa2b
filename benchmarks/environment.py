"""What a benchmark ran on: package versions and the machine, for the JSON output."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "numpy",
    "torch",
    "tensorflow",
    "tensorflow-cpu",
    "tf-keras",
    "n2v",
    "scikit-image",
    "bm3d",
    "bm4d",
    "dipy",
    "nilearn",
)


def versions() -> dict[str, str]:
    """Python and the versions of the packages a benchmark depends on ('not installed' when absent)."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or the platform's processor string."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """CPU model, usable cores, memory and the CUDA device (if torch sees one)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    gpu = "none"
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    memory_gib = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    cpu = _cpu_model()
    summary = f"{cpu}, {cores} cores" + (f", GPU {gpu}" if gpu != "none" else ", no GPU")
    return {
        "summary": summary,
        "cpu": cpu,
        "cores": cores,
        "memory_gib": memory_gib,
        "gpu": gpu,
        "platform": platform.platform(),
    }
