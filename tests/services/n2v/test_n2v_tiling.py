"""The choice of n2v's n_tiles from a memory budget."""

from __future__ import annotations

import math

from services.n2v.tiling import choose_n_tiles, network_bytes_per_voxel

MIB = 1 << 20


def test_a_volume_that_fits_is_not_tiled() -> None:
    """A 256x256 slice within a 2 GiB budget is predicted whole."""
    assert choose_n_tiles((256, 256), network_bytes_per_voxel(32), 2048 * MIB, block=4, overlap=22) == (1, 1)


def test_a_large_volume_is_tiled_until_a_tile_fits_the_budget() -> None:
    """A 256x256x136 volume in 3D needs tiles; each then fits the budget, longest axis split first."""
    shape, per_voxel, budget = (136, 256, 256), network_bytes_per_voxel(32), 512 * MIB

    n_tiles = choose_n_tiles(shape, per_voxel, budget, block=4, overlap=22)

    tile = [min(s, math.ceil(s / n) + 44) for s, n in zip(shape, n_tiles, strict=True)]
    assert math.prod(tile) * per_voxel <= budget
    assert math.prod(n_tiles) > 1 and n_tiles[1] >= n_tiles[0]


def test_tiles_never_get_smaller_than_one_block() -> None:
    """With an impossible budget, tiling stops at one block per tile instead of looping forever."""
    assert choose_n_tiles((16, 16), 1e9, 1, block=4, overlap=22) == (4, 4)
