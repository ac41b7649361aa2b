"""Overlapping tiles for slices larger than the network should see at once, and their blending."""

from __future__ import annotations

import numpy as np


def blended_tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of side `tile` covering `size`, neighbours sharing at least `overlap`."""
    if size <= tile:
        return [0]
    stride = tile - overlap
    count = -(-(size - tile) // stride) + 1
    # Spread the tiles evenly, so every overlap is at least `overlap` and the last tile ends at `size`.
    return [round(i * (size - tile) / (count - 1)) for i in range(count)]


def blend_window(height: int, width: int, overlap: int) -> np.ndarray:
    """Weights of one tile: 1 inside, falling linearly towards its edges over `overlap` pixels (never 0)."""
    return np.outer(_ramp(height, overlap), _ramp(width, overlap)).astype(np.float32)


def _ramp(size: int, overlap: int) -> np.ndarray:
    """A trapezoid of length `size`: (i + 1) / (overlap + 1) near both ends, 1 in the middle."""
    index = np.arange(size, dtype=np.float64)
    if overlap <= 0:
        return np.ones(size)
    return np.minimum(1.0, np.minimum(index + 1, size - index) / (overlap + 1))
