"""Training patches for N2V: tiling, the split, normalisation, and refusals of unusable data."""

from __future__ import annotations

import numpy as np
import pytest

from services.n2v.data import clean_metrics, cut_tiles, patch_grid_starts, prepare
from services.n2v.noisy import noisy_from_clean
from shared.errors import ConfigError, InvalidVolumeError, ShapeMismatchError
from shared.methods.n2v import N2VConfig
from shared.volume import Volume


def test_covering_tiles_reach_the_far_edge_and_grid_tiles_do_not_overlap() -> None:
    """Covering tiles end flush with the edge; a disjoint grid drops the remainder."""
    assert patch_grid_starts(100, 32, cover=True) == [0, 32, 64, 68]
    assert patch_grid_starts(100, 32, cover=False) == [0, 32, 64]
    assert patch_grid_starts(64, 64, cover=True) == [0]


def test_cut_tiles_returns_every_pixel_of_the_image() -> None:
    """The covering tiles of an image hold every one of its pixels."""
    image = np.arange(40 * 70, dtype=np.float32).reshape(40, 70)

    tiles = cut_tiles(image, 32, cover=True)

    assert tiles.shape == (6, 32, 32)  # rows start at 0, 8; columns at 0, 32, 38
    assert set(np.unique(tiles)) == set(np.unique(image))


def test_2d_patches_are_normalised_split_by_slice_block_and_channel_last(small_mni_volume: Volume) -> None:
    """Axial 64x64 slices become patches on the robust [0, 1] scale (the 0.5th and 99.9th percentiles, so a
    few voxels lie beyond); validation slices never appear in training."""
    config = N2VConfig(plane="axial", patch_size=32, drop_empty=False)

    data = prepare(config, [small_mni_volume])

    split = data.summary["split"]
    assert data.train.shape[1:] == (32, 32, 1) and data.val.shape[1:] == (32, 32, 1)
    assert len(data.train) == 4 * len(split["train"]) and len(data.val) == 4 * len(split["val"])
    assert not {tuple(r) for r in split["train"]} & {tuple(r) for r in split["val"]}
    assert data.summary["slice_axes"] == [0]
    everything = np.concatenate([data.train.ravel(), data.val.ravel()])
    assert np.mean((everything >= 0.0) & (everything <= 1.0)) > 0.99
    assert data.val_clean is None and data.val_weight is None


@pytest.mark.slow
def test_drop_empty_leaves_background_slices_out(mni_volume: Volume) -> None:
    """With drop_empty, the empty slices at the ends of the full MNI volume give no patches."""
    kept = prepare(N2VConfig(plane="sagittal", patch_size=128), [mni_volume])
    every = prepare(N2VConfig(plane="sagittal", patch_size=128, drop_empty=False), [mni_volume])

    assert kept.summary["slice_axes"] == [2]
    n_kept = len(kept.summary["split"]["train"]) + len(kept.summary["split"]["val"])
    n_every = len(every.summary["split"]["train"]) + len(every.summary["split"]["val"])
    assert n_kept < n_every


@pytest.mark.slow
def test_drop_empty_works_on_the_noisy_volumes_n2v_trains_on(mni_volume: Volume) -> None:
    """N2V only sees noisy volumes: at sigma 20 the empty end slices are still left out."""
    noisy = noisy_from_clean([mni_volume], 20.0, seed=0)
    data = prepare(N2VConfig(plane="sagittal", patch_size=128), noisy)
    used = {s for _, s in data.summary["split"]["train"] + data.summary["split"]["val"]}
    assert 0 not in used and mni_volume.shape[2] - 1 not in used
    assert len(data.summary["split"]["test"]) + len(used) < 150  # of 197 slices, ~141 hold anatomy


def test_a_patch_larger_than_the_slices_is_refused_with_the_largest_that_fits(
    small_mni_volume: Volume,
) -> None:
    """Sagittal slices of the small volume are 48x64, so 64x64 patches cannot be cut from them."""
    with pytest.raises(ConfigError) as caught:
        prepare(N2VConfig(plane="sagittal", patch_size=64), [small_mni_volume])

    assert str(caught.value) == (
        "patch_size 64 is larger than the 48x64 sagittal slices of noisy volume 0; "
        "choose patch_size <= 48 (a multiple of 4)"
    )


def test_3d_patches_hold_out_a_disjoint_cube_for_validation(small_mni_volume: Volume) -> None:
    """The 48x64x64 volume gives a 1x2x2 grid of 32^3 cubes, one of them held out."""
    data = prepare(N2VConfig(dims=3, patch_size=32, drop_empty=False), [small_mni_volume])

    assert data.train.shape == (3, 32, 32, 32, 1) and data.val.shape == (1, 32, 32, 32, 1)
    tiles = data.summary["tiles"]
    assert not {tuple(o) for _, o in tiles["train"]} & {tuple(o) for _, o in tiles["val"]}


def test_3d_needs_room_for_a_validation_cube(small_mni_volume: Volume) -> None:
    """A 48^3 patch fits the 48x64x64 volume only once: nothing would be left for validation."""
    with pytest.raises(ConfigError, match="only 1 patch of 48\\^3 fits the volumes; at least 2 are needed"):
        prepare(N2VConfig(dims=3, patch_size=48, drop_empty=False), [small_mni_volume])


def test_clean_volumes_give_the_validation_metric_on_the_clean_scale(small_mni_volume: Volume) -> None:
    """With clean pairs, the noisy validation patches score the PSNR sigma=20 noise should have."""
    noisy = noisy_from_clean([small_mni_volume], sigma=20, seed=0)

    data = prepare(N2VConfig(plane="axial", patch_size=32, drop_empty=False), noisy, clean=[small_mni_volume])

    psnr, rmse = clean_metrics(data.val, data)
    assert psnr == pytest.approx(20 * np.log10(255 / 20), abs=0.15)
    assert rmse == pytest.approx(20 / 255, rel=0.02)
    assert clean_metrics(data.val_clean, data)[0] == np.inf


def test_clean_volumes_must_pair_with_the_noisy_ones(small_mni_volume: Volume, mni_volume: Volume) -> None:
    """A clean volume of another shape, or a missing one, is refused."""
    with pytest.raises(ShapeMismatchError):
        prepare(N2VConfig(plane="axial", patch_size=32), [small_mni_volume], clean=[mni_volume])
    with pytest.raises(InvalidVolumeError, match="1 clean volume\\(s\\) given for 2 noisy volume\\(s\\)"):
        prepare(N2VConfig(plane="axial", patch_size=32), [small_mni_volume] * 2, clean=[small_mni_volume])


def test_the_fingerprint_tells_different_data_apart(small_mni_volume: Volume) -> None:
    """The same data gives the same fingerprint; different noise gives another."""
    config = N2VConfig(plane="axial", patch_size=32)
    first = noisy_from_clean([small_mni_volume], sigma=20, seed=0)
    other = noisy_from_clean([small_mni_volume], sigma=20, seed=1)

    assert prepare(config, first).fingerprint() == prepare(config, first).fingerprint()
    assert prepare(config, first).fingerprint() != prepare(config, other).fingerprint()
