"""Slicing volumes into 2D training slices and the recorded train/val/test split."""

from __future__ import annotations

import numpy as np
import pytest

from shared.io.formats import DICOM_ZIP
from shared.slices import (
    DatasetSplit,
    acquisition_axis,
    foreground_slices,
    gather,
    plane_axis,
    plane_of_axis,
    slice_along,
    slice_axis,
    split_slices,
    stack_slices,
)
from shared.volume import SourceMetadata, Volume


def _thick(axis: int, thickness: float = 4.5) -> Volume:
    """An RAS volume whose voxels are `thickness` mm along array `axis` and 0.8 mm in-plane (fetal-like)."""
    spacing = [0.8, 0.8, 0.8]
    spacing[axis] = thickness
    shape = [32, 32, 32]
    shape[axis] = 27
    affine = np.diag([spacing[2], spacing[1], spacing[0], 1.0])  # voxel (x, y, z) = array axes (2, 1, 0)
    return Volume(data=np.zeros(shape, np.float32), affine=affine)


def test_sagittal_axis_of_the_mni_template(mni_volume):
    """MNI152 is RAS: sagittal slices lie across array axis 2 (x), axial across axis 0 (z)."""
    assert plane_axis(mni_volume.affine, "sagittal") == 2
    assert plane_axis(mni_volume.affine, "coronal") == 1
    assert plane_axis(mni_volume.affine, "axial") == 0


def test_plane_axis_follows_a_permuted_affine():
    """When voxel axes are permuted (as in a sagittal acquisition), the plane's axis moves with them."""
    affine = np.array(
        [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=float
    )  # x->A, y->S, z->R
    assert plane_axis(affine, "sagittal") == 0


def test_slices_round_trip(mni_volume):
    """slice_along then stack_slices gives the volume back, for every axis."""
    data = mni_volume.data[::4, ::4, ::4]
    for axis in range(3):
        assert np.array_equal(stack_slices(slice_along(data, axis), axis), data)


@pytest.mark.slow
def test_background_slices_are_dropped(mni_volume):
    """The empty slices at the ends of the template are not kept; the mid-sagittal slice is."""
    kept = foreground_slices(mni_volume.data, axis=2)
    assert 0 not in kept and mni_volume.shape[2] - 1 not in kept
    assert mni_volume.shape[2] // 2 in kept
    assert 100 < len(kept) < mni_volume.shape[2]


def test_three_volumes_split_by_volume_with_no_leak():
    """With 3+ volumes no volume has slices in two subsets, and the split is reproducible from its seed."""
    kept = [list(range(10)) for _ in range(10)]
    split = split_slices(kept, axis=2, seed=4)
    owners = [{v for v, _ in subset} for subset in (split.train, split.val, split.test)]
    assert split.mode == "by_volume"
    assert [len(o) for o in owners] == [8, 1, 1]
    assert not (owners[0] & owners[1] or owners[0] & owners[2] or owners[1] & owners[2])
    assert split_slices(kept, axis=2, seed=4) == split
    assert split_slices(kept, axis=2, seed=5) != split


def test_one_volume_splits_in_contiguous_middle_blocks():
    """One volume: val and test are contiguous blocks from the middle, train the rest, 80/10/10."""
    kept = [list(range(20, 120))]
    split = split_slices(kept, axis=2)
    val = [s for _, s in split.val]
    test = [s for _, s in split.test]
    assert split.mode == "by_slice_block"
    assert (len(split.train), len(val), len(test)) == (80, 10, 10)
    assert val == list(range(60, 70)) and test == list(range(70, 80))
    assert not set(val + test) & {s for _, s in split.train}


def test_split_is_json_recordable():
    """The split survives JSON so a benchmark can be re-run on the same slices."""
    split = split_slices([list(range(30))], axis=1)
    assert DatasetSplit.model_validate_json(split.model_dump_json()) == split


def test_gather_stacks_named_slices(mni_volume):
    """gather() returns exactly the slices named by (volume, index) refs."""
    data = mni_volume.data[::4, ::4, ::4]
    slices = gather([data], [(0, 3), (0, 5)], axis=2)
    assert slices.shape == (2, data.shape[0], data.shape[1])
    assert np.array_equal(slices[1], data[:, :, 5])


def test_the_acquisition_axis_of_a_thick_slice_stack_is_its_thick_axis():
    """A stack of 4.5 mm slices is sliced across its thick axis, in whatever plane it was acquired."""
    for axis, plane in ((0, "axial"), (1, "coronal"), (2, "sagittal")):
        volume = _thick(axis)
        assert acquisition_axis(volume) == slice_axis(volume, "acquisition") == axis
        assert plane_of_axis(volume.affine, axis) == plane


def test_an_isotropic_nifti_is_sliced_across_its_file_slice_axis(mni_volume):
    """With no thick axis, the file's own slice axis (Z, NIfTI's third voxel axis) is the acquisition axis."""
    assert acquisition_axis(mni_volume) == 0
    assert slice_axis(mni_volume, "sagittal") == 2


def test_a_dicom_series_is_sliced_as_it_was_read_and_a_2d_image_is_its_own_slice():
    """DICOM slices are stacked along axis 0 on reading; a single image's one slice is the slice."""
    dicom = Volume(data=np.zeros((30, 32, 32), np.float32), affine=np.diag([1.0, 1.0, 0.5, 1.0]))
    dicom = Volume(data=dicom.data, affine=dicom.affine, source=SourceMetadata(format=DICOM_ZIP))
    assert acquisition_axis(dicom) == 0  # 0.5 mm slices: not the thickest axis, still the acquired one
    image = Volume(data=np.zeros((1, 64, 64), np.float32), affine=np.diag([0.5, 0.5, 5.0, 1.0]))
    assert acquisition_axis(image) == 0
    column = Volume(data=np.zeros((40, 64, 1), np.float32))
    assert acquisition_axis(column) == 2


def test_a_single_slice_is_unsplit():
    """Too few slices to hold any out: training and validation both see them, nothing is tested."""
    split = split_slices([[0]], axis=0)
    assert (split.mode, split.train, split.val, split.test) == ("unsplit", [(0, 0)], [(0, 0)], [])


def test_an_isotropic_slab_is_sliced_into_its_large_faces():
    """A 1 mm slab stored with its short side as the file's x (array (Z, Y, X) = 181 x 217 x 30) is sliced
    across X into 217 x 181 slices, not across Z into 217 x 30 strips no patch fits; a volume whose Z slices
    are nearly the largest keeps Z."""
    slab = Volume(data=np.zeros((181, 217, 30), dtype=np.float32), affine=np.eye(4))
    assert acquisition_axis(slab) == 2
    cube = Volume(data=np.zeros((170, 180, 181), dtype=np.float32), affine=np.eye(4))
    assert acquisition_axis(cube) == 0
