"""BM3D on each test slice and BM4D on the whole noisy volume, with the true or an estimated sigma.

Both come from Tampere University's `bm3d` and `bm4d` packages, installed only on an explicit opt-in (the
`classical` extra: their licence allows non-commercial use only, so they are benchmark baselines, never a
service dependency, never in `all` nor in an image). Without them the rows say how to install them. Each
runs with its package's default profile, as a user calling `bm3d.bm3d(z, sigma)` or `bm4d.bm4d(z, sigma)`
would: profile 'np' (the normal profile), both stages (hard thresholding, then Wiener filtering).
"""

from __future__ import annotations

import importlib
import time
from types import ModuleType
from typing import Literal

import numpy as np

from benchmarks.data import BenchmarkData, NoisyCopies
from benchmarks.noise_level import ESTIMATOR, estimate_noise_std, to_sigma_scale
from benchmarks.prediction import Prediction, Setting
from shared.noise import sigma_to_unit

CLASSICAL_INSTALL = (
    'pip install "fetal-denoise[classical]" (or ./setup.sh --classical); '
    "bm3d and bm4d are licensed for non-commercial use only"
)
"""How to get the BM3D/BM4D rows, and the licence a user accepts by doing so (LICENSE, third-party notices)."""


def block_matching(name: Literal["bm3d", "bm4d"]) -> ModuleType:
    """The `bm3d` or `bm4d` module, or an ImportError that names the opt-in that installs it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"no {name} module: install it with {CLASSICAL_INSTALL}") from exc


PROFILE = "np"
"""The packages' default profile ('normal profile'); 'lc' (low complexity) trades quality for speed.

BM4D's cost with it on 2 shared cores (one-off measurements under load): 21-68 s on the 3 mm template
(63x78x66, 0.32 M voxels, 0.6 GB peak memory of the whole process), 150 s on the 2 mm one (95x117x99,
1.1 M voxels, 1.4 GB). At about 65-140 microseconds and 1 kB per voxel, the 1 mm template (8.7 M voxels)
should take 10-20 minutes and ~9 GB per run: the quick budget's four BM4D runs (two rows, two sigmas) add
roughly 40-80 minutes. The profile's `split_block_extraction` would save memory; it is left at its default.
"""
DEFAULT_SETTINGS: dict[str, Setting] = {
    "profile": PROFILE,
    "stages": "all (hard thresholding, then Wiener filtering)",
}


def _noise_std(data: BenchmarkData, noisy: NoisyCopies, estimate: bool) -> float:
    """The noise standard deviation on the [0, 1] scale: the truth, or estimated from the noisy volume."""
    if estimate:
        return estimate_noise_std(noisy.volumes[0], data.axis)
    return sigma_to_unit(noisy.sigma)


def _settings(estimate: bool, scope: str) -> dict[str, Setting]:
    """The recorded settings of one row."""
    sigma = f"estimated: {ESTIMATOR}" if estimate else "the true sigma"
    return {**DEFAULT_SETTINGS, "applied to": scope, "sigma": sigma}


def run_bm3d(data: BenchmarkData, noisy: NoisyCopies, estimate: bool) -> Prediction:
    """BM3D on each noisy test slice (2D); the timing includes the sigma estimate when there is one."""
    bm3d = block_matching("bm3d")

    start = time.perf_counter()
    std = _noise_std(data, noisy, estimate)
    slices = noisy.test_slices[0]
    out = np.stack([bm3d.bm3d(s.astype(np.float64), sigma_psd=std, profile=PROFILE) for s in slices])
    return Prediction(
        images=out.astype(np.float32),
        infer_seconds=time.perf_counter() - start,
        sigma_given=to_sigma_scale(std),
        settings=_settings(estimate, "each test slice (2D)"),
    )


def run_bm4d(data: BenchmarkData, noisy: NoisyCopies, estimate: bool) -> Prediction:
    """BM4D on the whole noisy volume (3D), scored on its test slices; timed over the whole volume."""
    bm4d = block_matching("bm4d")

    start = time.perf_counter()
    std = _noise_std(data, noisy, estimate)
    volume = bm4d.bm4d(noisy.volumes[0].astype(np.float64), sigma_psd=std, profile=PROFILE)
    seconds = time.perf_counter() - start
    return Prediction(
        images=data.test_slices_of(np.asarray(volume, dtype=np.float32)),
        infer_seconds=seconds,
        infer_slices=noisy.volumes[0].shape[data.axis],
        scope="whole volume",
        sigma_given=to_sigma_scale(std),
        settings=_settings(estimate, "the whole volume (3D)"),
    )
