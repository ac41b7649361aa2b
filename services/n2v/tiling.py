"""How many tiles n2v's predict should cut an image into so the network fits a memory budget."""

from __future__ import annotations

import math

ACTIVATION_FLOATS_PER_FILTER = 5.0
"""Peak float32 values held per input voxel, per first-level filter, while n2v's predict runs.

Measured on this project's CPU machines as the peak RSS growth of one predict call with a depth-2
U-Net: 4.1 to 4.9 per voxel per filter (about 530-560 bytes per voxel with 32 filters) for 1024^2 and
2048^2 slices and a 128^3 volume, with 16 and 32 filters. Rounded up to leave a margin.
"""


def network_bytes_per_voxel(unet_n_first: int) -> float:
    """Estimated peak bytes the network needs per voxel of the tile it runs on."""
    return 4.0 * ACTIVATION_FLOATS_PER_FILTER * unet_n_first


def choose_n_tiles(
    shape: tuple[int, ...], bytes_per_voxel: float, budget_bytes: int, block: int, overlap: int
) -> tuple[int, ...]:
    """Tiles per axis for n2v's predict, doubling along the axis of largest tile until one fits.

    A tile is its share of the axis plus `overlap` (the network's receptive field) on each side; a
    tile is never made smaller than one `block` (2**unet_n_depth). If even the smallest tiles do not
    fit, they are used anyway: the budget is a target, not a guarantee.
    """
    n_tiles = [1] * len(shape)

    def tile_bytes() -> float:
        sides = [min(size, math.ceil(size / n) + 2 * overlap) for size, n in zip(shape, n_tiles, strict=True)]
        return math.prod(sides) * bytes_per_voxel

    while tile_bytes() > budget_bytes:
        splittable = [i for i, size in enumerate(shape) if math.ceil(size / (2 * n_tiles[i])) >= block]
        if not splittable:
            break
        axis = max(splittable, key=lambda i: math.ceil(shape[i] / n_tiles[i]))
        n_tiles[axis] *= 2
    return tuple(n_tiles)
