"""Scans as they come off the scanner, through `fetal-denoise denoise` as a user runs it: thick-slice stacks
in any plane, single 2D images, 4D series, outlier voxels, magnitude images."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from shared.io import read_volume, write_volume
from shared.volume import Volume

TINY_FIT = ("--epochs", "1", "--steps-per-epoch", "2", "--patch-size", "32", "--quiet")
SIGMA = 20 / 255


def _noisy(volume: Volume, seed: int) -> Volume:
    """A Rician (magnitude) noisy copy: what a real magnitude scan carries, never negative."""
    rng = np.random.default_rng(seed)
    real = volume.data + rng.normal(0, SIGMA, volume.shape)
    return volume.with_data(np.hypot(real, rng.normal(0, SIGMA, volume.shape)))


@pytest.fixture(scope="module")
def coronal_stack(mni_volume: Volume) -> Volume:
    """A fetal-like stack of thick slices in a non-sagittal plane: 27 coronal slices 8 mm thick, 2 mm in-plane."""
    data = np.ascontiguousarray(mni_volume.data[::2, 10:226:8, ::2])  # (Z, Y, X) = (95, 27, 99)
    affine = mni_volume.affine.copy()
    affine[:3, 0] *= 2.0  # x: 2 mm
    affine[:3, 1] *= 8.0  # y (anterior): 8 mm slices
    affine[:3, 2] *= 2.0  # z: 2 mm
    return _noisy(Volume(data=data, affine=affine), seed=1)


@pytest.mark.slow
def test_a_thick_coronal_stack_is_denoised_in_its_own_plane(run_cli, coronal_stack, tmp_path):
    """27 thick coronal slices: fitted and denoised across the thick axis with no plane given; geometry kept."""
    source = write_volume(coronal_stack, tmp_path / "stack.nii.gz")
    result = run_cli("denoise", source, tmp_path / "out.nii.gz", "--method", "n2v", "--fit", *TINY_FIT)
    assert result.code == 0, result.err
    written = nib.load(tmp_path / "out.nii.gz")
    assert written.shape == nib.load(source).shape
    assert np.allclose(written.affine, nib.load(source).affine)
    out = read_volume(tmp_path / "out.nii.gz")
    assert out.data.min() >= 0.0  # a magnitude input gives a magnitude output


@pytest.mark.slow
def test_a_single_2d_image_is_fitted_and_denoised(run_cli, mni_volume, tmp_path):
    """One 2D slice (a 2D NIfTI) is fitted on its own tiles and comes back 2D."""
    image = _noisy(Volume(data=mni_volume.data[90:91, ::2, ::2], affine=mni_volume.affine), seed=2)
    source = tmp_path / "slice.nii.gz"
    nib.save(nib.Nifti1Image(image.data[0].T, image.affine), source)  # (X, Y): a true 2D file
    result = run_cli("denoise", source, tmp_path / "out.nii.gz", "--method", "n2v", *TINY_FIT)
    assert result.code == 0, result.err
    assert nib.load(tmp_path / "out.nii.gz").shape == nib.load(source).shape


@pytest.mark.slow
def test_a_4d_series_is_fitted_on_all_volumes_and_comes_back_4d(run_cli, small_mni_volume, tmp_path):
    """A 4D NIfTI (three repetitions): one fit on every volume; the result is 4D with the input's header."""
    frames = np.stack([_noisy(small_mni_volume, seed).data for seed in (3, 4, 5)])
    source = tmp_path / "dwi.nii.gz"
    image = nib.Nifti1Image(frames.transpose(3, 2, 1, 0), small_mni_volume.affine)
    image.header["pixdim"][4] = 3.0
    nib.save(image, source)
    n2v = run_cli("denoise", source, tmp_path / "n2v.nii.gz", "--method", "n2v", *TINY_FIT)
    assert n2v.code == 0, n2v.err
    written = nib.load(tmp_path / "n2v.nii.gz")
    assert written.shape == image.shape and written.header["pixdim"][4] == 3.0
    n2n = run_cli(
        "denoise", source, tmp_path / "n2n.nii.gz", "--method", "n2n", "--repeats",
        "--epochs", "1", "--steps-per-epoch", "2", "--quiet",
    )  # fmt: skip
    assert n2n.code == 0, n2n.err
    assert nib.load(tmp_path / "n2n.nii.gz").shape == image.shape


def test_a_patch_larger_than_the_slices_is_refused_saying_what_fits(run_cli, small_mni_volume, tmp_path):
    """The message names a patch size that works, never an impossible one."""
    source = write_volume(small_mni_volume, tmp_path / "small.nii.gz")
    result = run_cli(
        "denoise", source, tmp_path / "out.nii.gz", "--method", "n2v", "--patch-size", "128", "--quiet"
    )
    assert result.code == 2
    assert "choose patch_size <= 64" in result.err


@pytest.mark.parametrize("method", ["n2n", "n2v"])
def test_a_2d_image_too_small_to_train_on_is_refused_saying_what_would_work(run_cli, tmp_path, method):
    """A 6x6 2D image: exit 2 before any training, asking for a larger image or its series, not a plane."""
    source = tmp_path / "tiny.nii.gz"
    nib.save(nib.Nifti1Image(np.random.default_rng(0).random((6, 6)).astype(np.float32), np.eye(4)), source)
    result = run_cli(
        "denoise", source, tmp_path / "out.nii.gz", "--method", method, *TINY_FIT[:-3], "--quiet"
    )
    assert result.code == 2
    assert "tiny.nii.gz is a single 6x6 image: too small to train on" in result.err
    assert "give a larger image, or the series (volume) the slice comes from" in result.err
    assert "plane" not in result.err
    assert not (tmp_path / "out.nii.gz").exists()
