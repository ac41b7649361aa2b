"""Tiles for large slices: coverage, blending weights, and agreement with whole-slice inference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from services.n2n.tiling import blend_window, blended_tile_starts


@pytest.mark.parametrize(
    ("size", "tile", "overlap"), [(600, 512, 64), (1300, 512, 64), (100, 64, 16), (64, 64, 8)]
)
def test_tiles_cover_the_slice_with_the_overlap(size: int, tile: int, overlap: int) -> None:
    """Tiles start at 0, end at the edge, and neighbours share at least `overlap` pixels."""
    starts = blended_tile_starts(size, tile, overlap)
    assert starts[0] == 0
    assert starts[-1] + min(tile, size) == size
    assert all(nxt - cur <= tile - overlap for cur, nxt in itertools.pairwise(starts))


def test_blend_window_is_positive_and_flat_inside() -> None:
    """Weights never reach zero (every pixel counts) and are 1 away from the edges."""
    window = blend_window(64, 96, 16)
    assert window.min() > 0
    assert np.all(window[16:-16, 16:-16] == 1.0)
    assert window[0, 0] < window[8, 8] < window[16, 16]
