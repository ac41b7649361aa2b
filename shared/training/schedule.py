"""The learning-rate schedule both trainers share: constant, then a cosine ramp-down to zero.

Lehtinen et al. (2018) ramp the rate down over the end of training. It matters most at short budgets:
the last steps at full rate leave the weights wherever the last noisy gradients put them, and a
blind-spot (N2V) gradient, taken on ~1.5% of the pixels, is far noisier than an N2N one.
"""

from __future__ import annotations

import math


def cosine_rampdown(lr: float, rampdown: float, step: int, total_steps: int) -> float:
    """The rate at `step` (0-based) of `total_steps`: `lr`, then a cosine to 0 over the last `rampdown` share."""
    ramp_start = (1.0 - rampdown) * total_steps
    if rampdown <= 0.0 or step < ramp_start:
        return lr
    t = (step - ramp_start) / (total_steps - ramp_start)
    return lr * 0.5 * (1.0 + math.cos(math.pi * t))
