"""NIfTI reading and writing: geometry and header survive exactly, values and scaling are right."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from io_helpers import pydicom_file

from shared.errors import ConfigError, TooManyVolumesError
from shared.io import read_volume, write_volume
from shared.volume import Volume

GEOMETRY_FIELDS = (
    "dim",
    "pixdim",
    "qform_code",
    "sform_code",
    "quatern_b",
    "quatern_c",
    "quatern_d",
    "qoffset_x",
    "qoffset_y",
    "qoffset_z",
    "srow_x",
    "srow_y",
    "srow_z",
    "xyzt_units",
    "descrip",
    "dim_info",
    "cal_min",
    "cal_max",
)


def raw_header(path: Path) -> nib.Nifti1Header:
    """The header exactly as stored (nibabel's loaded images fold scaling into the data)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        return nib.Nifti1Header.from_fileobj(handle)


@pytest.mark.slow
def test_mni_round_trip_keeps_affine_header_and_values(mni_nifti_path: Path, tmp_path: Path):
    """Reading and writing the real MNI152 file keeps its affine, geometry fields and values."""
    volume = read_volume(mni_nifti_path)
    out = write_volume(volume, tmp_path / "denoised.nii.gz")

    original, written = nib.load(mni_nifti_path), nib.load(out)
    assert volume.shape == original.shape[::-1]
    assert np.array_equal(written.affine, original.affine)
    before, after = raw_header(mni_nifti_path), raw_header(out)
    for field in GEOMETRY_FIELDS:
        assert np.array_equal(after[field], before[field]), field
    np.testing.assert_allclose(written.get_fdata(), original.get_fdata(), rtol=1e-6, atol=1e-7)


def test_written_nifti_is_float32_without_scaling(mni_nifti_path: Path, tmp_path: Path):
    """Denoised values are stored as float32 with scl_slope 1 / scl_inter 0, not the source's scaling."""
    assert raw_header(mni_nifti_path)["scl_slope"] != 1.0
    out = write_volume(read_volume(mni_nifti_path), tmp_path / "denoised.nii")
    header = raw_header(out)
    assert header.get_data_dtype() == np.float32
    assert (float(header["scl_slope"]), float(header["scl_inter"])) == (1.0, 0.0)


def test_scaling_is_applied_on_read(tmp_path: Path, small_mni_volume: Volume):
    """scl_slope / scl_inter of an integer file are applied to the values read."""
    stored = np.rint(small_mni_volume.data.transpose(2, 1, 0) * 1000).astype(np.int16)
    image = nib.Nifti1Image(stored, small_mni_volume.affine)
    image.header.set_slope_inter(0.5, -20.0)
    image.set_data_dtype(np.int16)
    path = tmp_path / "scaled.nii.gz"
    nib.save(image, path)

    volume = read_volume(path)
    expected = stored.transpose(2, 1, 0) * 0.5 - 20.0
    np.testing.assert_allclose(volume.data, expected, rtol=1e-6)


def test_2d_image_reads_as_one_slice_and_writes_back_2d(tmp_path: Path, small_mni_volume: Volume):
    """A 2D NIfTI is a volume of one slice; written back it is 2D again."""
    plane = small_mni_volume.data[20].T.copy()  # (X, Y) on disk
    path = tmp_path / "slice.nii"
    nib.save(nib.Nifti1Image(plane, np.diag([0.5, 0.5, 3.0, 1.0])), path)

    volume = read_volume(path)
    assert volume.shape == (1, plane.shape[1], plane.shape[0])
    assert np.array_equal(volume.data[0], plane.T)
    out = write_volume(volume, tmp_path / "out.nii")
    assert nib.load(out).shape == plane.shape


def test_4d_with_one_volume_is_squeezed(tmp_path: Path, small_mni_volume: Volume):
    """A 4D file whose last dimension is 1 reads as its 3D volume, and is written back 4D."""
    data = small_mni_volume.data.transpose(2, 1, 0)[..., None]
    path = tmp_path / "one.nii.gz"
    nib.save(nib.Nifti1Image(data, small_mni_volume.affine), path)

    volume = read_volume(path)
    assert np.array_equal(volume.data, small_mni_volume.data)
    assert nib.load(write_volume(volume, tmp_path / "out.nii.gz")).shape == data.shape


def test_4d_with_several_volumes_reads_as_a_series_and_writes_back_4d(
    tmp_path: Path, small_mni_volume: Volume
):
    """A 4D file (DWI, fMRI, repetitions) is a (T, Z, Y, X) series; written back, header and shape are its own."""
    frames = np.stack([small_mni_volume.data * (1.0 + t) for t in range(3)])  # (T, Z, Y, X)
    image = nib.Nifti1Image(frames.transpose(3, 2, 1, 0), small_mni_volume.affine)
    image.header.set_xyzt_units("mm", "sec")
    image.header["pixdim"][4] = 2.5  # the repetition time, which must survive
    path = tmp_path / "dwi.nii.gz"
    nib.save(image, path)

    series = read_volume(path)
    assert series.is_series and series.shape == (3, *small_mni_volume.shape)
    assert np.array_equal(series.data, frames)
    assert [np.array_equal(f.data, frames[t]) for t, f in enumerate(series.frames())] == [True] * 3
    written = nib.load(write_volume(series.with_frames([f * 2 for f in frames]), tmp_path / "out.nii.gz"))
    assert written.shape == image.shape and written.header["pixdim"][4] == 2.5
    assert np.allclose(np.asarray(written.dataobj).transpose(3, 2, 1, 0), frames * 2)


def test_images_beyond_4d_are_refused(tmp_path: Path):
    """A 5D vector image has no denoising meaning here: refused, saying what can be read."""
    path = tmp_path / "vectors.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((4, 5, 6, 1, 3), dtype=np.float32), np.eye(4)), path)
    with pytest.raises(TooManyVolumesError) as caught:
        read_volume(path)
    assert str(caught.value) == (
        "vectors.nii.gz: a 5D image (shape (4, 5, 6, 1, 3)); only 2D, 3D and 4D (a series of volumes) images "
        "can be denoised"
    )


def test_volume_from_another_format_is_written_with_its_affine(tmp_path: Path, small_mni_volume: Volume):
    """A NIfTI made from a volume without a NIfTI source uses the volume's affine, in scanner space mm."""
    out = write_volume(small_mni_volume, tmp_path / "from_npy.nii.gz", description="n2v")
    image = nib.load(out)
    assert np.allclose(image.affine, small_mni_volume.affine, atol=1e-5)
    assert int(image.header["sform_code"]) == 1 and int(image.header["qform_code"]) == 1
    assert image.header.get_xyzt_units() == ("mm", "sec")
    assert image.header["descrip"].item() == b"n2v"
    assert np.array_equal(read_volume(out).data, small_mni_volume.data)


def _int_nifti(
    path: Path, stored: np.ndarray, dtype: type, slope: float | None = None, inter: float = 0.0
) -> Path:
    """A NIfTI file of integers `stored` (X, Y, Z) in `dtype`, with scl_slope / scl_inter when given."""
    image = nib.Nifti1Image(stored.astype(dtype), np.diag([0.8, 0.8, 4.0, 1.0]))
    image.set_data_dtype(dtype)
    if slope is not None:
        image.header.set_slope_inter(slope, inter)
    nib.save(image, path)
    return path


def test_keep_dtype_rounds_half_to_even_and_clips_to_the_type(tmp_path: Path):
    """An int16 input stays int16: values rounded half to even, clipped to -32768..32767, no scaling."""
    source = read_volume(_int_nifti(tmp_path / "t2.nii", np.zeros((6, 1, 1)), np.int16))
    denoised = source.with_data(
        np.array([2.5, 3.5, -2.5, 40000.0, -40000.0, 7.2], dtype=np.float32).reshape(1, 1, 6)
    )
    out = write_volume(denoised, tmp_path / "out.nii", keep_dtype=True)
    header = raw_header(out)
    assert header.get_data_dtype() == np.int16
    assert (float(header["scl_slope"]), float(header["scl_inter"])) == (1.0, 0.0)
    assert np.asarray(nib.load(out).dataobj).ravel().tolist() == [2, 4, -2, 32767, -32768, 7]


def test_keep_dtype_keeps_the_input_scaling(tmp_path: Path):
    """A scaled uint8 input (slope 0.5, inter 10) keeps type and scaling: stored = rint((v - 10) / 0.5)."""
    source = read_volume(
        _int_nifti(tmp_path / "s.nii.gz", np.arange(4).reshape(4, 1, 1), np.uint8, 0.5, 10.0)
    )
    denoised = source.with_data(np.array([10.75, 10.25, 4.0, 200.0], dtype=np.float32).reshape(1, 1, 4))
    out = write_volume(denoised, tmp_path / "out.nii.gz", keep_dtype=True)
    header = raw_header(out)
    assert header.get_data_dtype() == np.uint8
    assert (float(header["scl_slope"]), float(header["scl_inter"])) == (0.5, 10.0)
    assert np.asarray(nib.load(out).dataobj.get_unscaled()).ravel().tolist() == [2, 0, 0, 255]
    assert read_volume(out).data.ravel().tolist() == [11.0, 10.0, 10.0, 137.5]


@pytest.mark.slow
def test_keep_dtype_round_trips_the_real_mni_file_exactly(mni_nifti_path: Path, tmp_path: Path):
    """The MNI152 file (uint8, scl_slope 1/255) written back with keep_dtype: same type, scaling and values."""
    out = write_volume(read_volume(mni_nifti_path), tmp_path / "same.nii.gz", keep_dtype=True)
    before, after = raw_header(mni_nifti_path), raw_header(out)
    assert after.get_data_dtype() == before.get_data_dtype() == np.uint8
    assert float(after["scl_slope"]) == pytest.approx(float(before["scl_slope"]))
    assert np.array_equal(
        np.asarray(nib.load(out).dataobj.get_unscaled()),
        np.asarray(nib.load(mni_nifti_path).dataobj.get_unscaled()),
    )


def test_keep_dtype_from_dicom_keeps_the_stored_type(tmp_path: Path):
    """A DICOM input (MR_small: int16, no rescale) written as NIfTI with keep_dtype is int16 with its values."""
    source = read_volume(pydicom_file("MR_small.dcm"))
    out = write_volume(source, tmp_path / "mr.nii", keep_dtype=True)
    assert raw_header(out).get_data_dtype() == np.int16
    assert np.array_equal(read_volume(out).data, source.data)


def test_keep_dtype_needs_a_type_to_keep(tmp_path: Path):
    """From .npy (no stored type) or to .npy (always float32), keep_dtype is a clear configuration error."""
    np.save(tmp_path / "v.npy", np.ones((2, 3, 4), dtype=np.float32))
    volume = read_volume(tmp_path / "v.npy")
    with pytest.raises(ConfigError) as caught:
        write_volume(volume, tmp_path / "out.nii", keep_dtype=True)
    assert str(caught.value) == (
        "out.nii: keeping the data type needs an input read from NIfTI or DICOM; this volume came from npy, so "
        "write it without keeping the type (float32)"
    )
    with pytest.raises(ConfigError) as caught:
        write_volume(volume, tmp_path / "out.npy", keep_dtype=True)
    assert (
        str(caught.value)
        == "out.npy: a .npy output is float32; keeping the input's data type needs a NIfTI output"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.npy"]
