"""What the command line tells and keeps of an input: the reader's warnings on stderr, and an integer NIfTI
written back in its own data type with --keep-dtype."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from shared.volume import Volume


def test_a_dicom_without_geometry_warns_on_stderr(run_cli, tmp_path: Path) -> None:
    """pydicom's MR_small without orientation, position and pixel spacing: the command works, and stderr says
    in one line each what was assumed, naming the file."""
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    for keyword in ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing"):
        delattr(ds, keyword)
    path = tmp_path / "nogeom.dcm"
    ds.save_as(path, enforce_file_format=True)
    result = run_cli("noise-level", path)
    assert result.code == 0, result.err
    lines = [
        line for line in result.err.splitlines() if line.startswith("fetal-denoise: warning: nogeom.dcm: ")
    ]
    assert len(lines) == 3
    assert "identity orientation" in lines[0] and "1 x 1 mm" in lines[1] and "scanner's origin" in lines[2]


@pytest.fixture(scope="module")
def int16_scan(small_mni_volume: Volume, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small MNI block as a noisy int16 NIfTI (values 0-1000, no scaling), as scanners write them."""
    rng = np.random.default_rng(3)
    data = np.clip(small_mni_volume.data * 1000 + rng.normal(0, 40, small_mni_volume.shape), 0, None)
    path = tmp_path_factory.mktemp("int16") / "scan.nii.gz"
    nib.save(
        nib.Nifti1Image(np.rint(data).astype(np.int16).transpose(2, 1, 0), small_mni_volume.affine), path
    )
    return path


@pytest.mark.slow
def test_keep_dtype_writes_int16_rounded_half_to_even(run_cli, int16_scan: Path, tmp_path: Path) -> None:
    """int16 in: float32 out by default; with --keep-dtype int16 out, each value the float result rounded
    half to even (np.rint) through the input's scaling, clipped to int16."""
    model = tmp_path / "model"
    trained = run_cli(
        "train", "--method", "n2n", "--noisy", int16_scan, "--out", model, "--epochs", "1",
        "--steps-per-epoch", "2", "--crop-size", "32", "--batch-size", "2", "--quiet",
    )  # fmt: skip
    assert trained.code == 0, trained.err
    as_float, as_int = tmp_path / "float.nii.gz", tmp_path / "int.nii.gz"
    for out, extra in ((as_float, ()), (as_int, ("--keep-dtype",))):
        result = run_cli("denoise", int16_scan, out, "--method", "n2n", "--model", model, "--quiet", *extra)
        assert result.code == 0, result.err
    float_image, int_image = nib.load(as_float), nib.load(as_int)
    assert float_image.get_data_dtype() == np.float32
    assert int_image.get_data_dtype() == np.int16
    slope = int_image.dataobj.slope
    inter = int_image.dataobj.inter
    expected = np.clip(np.rint((np.asarray(float_image.dataobj) - inter) / slope), -32768, 32767)
    stored = np.asarray(int_image.dataobj.get_unscaled())
    assert np.array_equal(stored, expected)
    assert np.abs(np.asarray(int_image.dataobj) - np.asarray(float_image.dataobj)).max() <= 0.5 * slope + 1e-3
