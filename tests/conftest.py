"""Fixtures shared by every test: small real MRI volumes from the MNI152 template (nilearn)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from shared.volume import Volume


@pytest.fixture(scope="session")
def mni_image() -> nib.Nifti1Image:
    """The real MNI152 2009 T1 template, 1 mm, 197x233x189 (ships inside nilearn; no download)."""
    from nilearn.datasets import load_mni152_template

    return load_mni152_template(resolution=1)


@pytest.fixture(scope="session")
def mni_nifti_path(mni_image: nib.Nifti1Image, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The MNI152 template saved as a .nii.gz file."""
    path = tmp_path_factory.mktemp("mni") / "mni152.nii.gz"
    nib.save(mni_image, path)
    return path


@pytest.fixture(scope="session")
def mni_volume(mni_image: nib.Nifti1Image) -> Volume:
    """The MNI152 template as a Volume (Z, Y, X), values 0-1, geometry from its affine."""
    data = np.asarray(mni_image.get_fdata(), dtype=np.float32).transpose(2, 1, 0)
    return Volume(data=data, affine=mni_image.affine)


@pytest.fixture(scope="session")
def small_mni_volume(mni_volume: Volume) -> Volume:
    """A 2 mm, 48x64x64 central block of the MNI152 template: real anatomy, fast to train on."""
    data = mni_volume.data[::2, ::2, ::2]
    z, y, x = data.shape
    block = data[
        (z - 48) // 2 : (z - 48) // 2 + 48,
        (y - 64) // 2 : (y - 64) // 2 + 64,
        (x - 64) // 2 : (x - 64) // 2 + 64,
    ]
    affine = mni_volume.affine.copy()
    affine[:3, :3] *= 2.0
    return Volume(data=np.ascontiguousarray(block), affine=affine)
