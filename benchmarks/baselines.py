"""The rows that learn nothing: the noisy input itself, and BM3D with the true sigma (optional)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from shared.noise import sigma_to_unit

BM3D_NOT_INSTALLED = "not installed"


@dataclass(frozen=True)
class Prediction:
    """A method's output on the test slices (N, H, W) and what it cost."""

    images: np.ndarray
    train_steps: int = 0
    train_seconds: float = 0.0
    infer_seconds: float = 0.0


def bm3d_available() -> bool:
    """Whether the optional `bm3d` package (non-commercial licence, a baseline only) can be imported."""
    try:
        import bm3d  # noqa: F401
    except ImportError:
        return False
    return True


def denoise_bm3d(noisy: np.ndarray, sigma: float) -> Prediction:
    """BM3D on each (N, H, W) slice with the true noise level; needs the optional `bm3d` package."""
    import bm3d

    start = time.perf_counter()
    out = np.stack([bm3d.bm3d(s.astype(np.float64), sigma_psd=sigma_to_unit(sigma)) for s in noisy])
    return Prediction(images=out.astype(np.float32), infer_seconds=time.perf_counter() - start)
