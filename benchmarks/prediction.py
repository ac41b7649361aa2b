"""What every benchmark row hands to scoring: its output on the test slices and what it cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Scope = Literal["test slices", "whole volume"]
"""What a method denoised: the test slices one by one (2D), or the whole noisy volume (3D)."""
Setting = str | int | float | bool


@dataclass(frozen=True)
class Prediction:
    """A method's output on the test slices (N, H, W) and what it cost."""

    images: np.ndarray
    train_steps: int = 0
    train_seconds: float = 0.0
    infer_seconds: float = 0.0
    """Wall-clock seconds of denoising, including any noise-level estimate the method made."""
    infer_slices: int | None = None
    """Sagittal slices `infer_seconds` covers (a 3D method: all of the volume's); None: the test slices."""
    scope: Scope = "test slices"
    sigma_given: float | None = None
    """The noise sigma (0-255 scale) the method was told: the truth or an estimate; None: none given."""
    settings: dict[str, Setting] = field(default_factory=dict)
    """The method's parameters as it ran, for the record."""
    estimates: dict[str, float | None] = field(default_factory=dict)
    """Learned rows: quality without a ground truth against the truth (benchmarks/estimates.py)."""
