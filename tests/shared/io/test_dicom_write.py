"""DICOM output: a derived series of a DICOM input, or a new MR series from any volume."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from io_helpers import pydicom_file, zip_datasets
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

from shared.io import read_volume, write_volume
from shared.volume import Volume

KEPT_TAGS = ("StudyInstanceUID", "PatientName", "PatientID", "StudyDescription", "AccessionNumber")


@pytest.mark.slow
def test_derived_series_from_a_zip(shuffled_series_zip: Path, series_files: list[Dataset], tmp_path: Path):
    """A denoised DICOM series: new series and instance UIDs, same study and patient, DERIVED,
    '<original> (denoised)', uncompressed, one file per slice, values in the original stored range."""
    volume = read_volume(shuffled_series_zip)
    denoised = volume.with_data(volume.data * 0.9)
    out = write_volume(denoised, tmp_path / "result.zip")

    written = zip_datasets(out)
    original = series_files[0]
    assert len(written) == len(series_files)
    assert {str(ds.SeriesInstanceUID) for ds in written} != {str(original.SeriesInstanceUID)}
    assert len({str(ds.SeriesInstanceUID) for ds in written}) == 1
    source_uids = {str(ds.SOPInstanceUID) for ds in series_files}
    new_uids = {str(ds.SOPInstanceUID) for ds in written}
    assert len(new_uids) == len(written) and not new_uids & source_uids
    for ds in written:
        for tag in KEPT_TAGS:
            assert ds[tag].value == original[tag].value, tag
        assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
        assert ds.SeriesDescription == "T2 (denoised)"
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (
            original.BitsAllocated,
            original.BitsStored,
            original.HighBit,
            original.PixelRepresentation,
        )
        assert ds.RescaleSlope == original.RescaleSlope
        assert ds.SamplesPerPixel == 1 and ds.PhotometricInterpretation == "MONOCHROME2"
        assert ds.pixel_array.shape == (ds.Rows, ds.Columns) == (64, 64)

    back = read_volume(out)
    np.testing.assert_allclose(back.affine, volume.affine, atol=1e-6)
    assert np.abs(back.data - denoised.data).max() <= float(original.RescaleSlope) / 2 + 1e-6


def test_description_names_the_method(shuffled_series_zip: Path, tmp_path: Path):
    """The description passed to the writer goes into SeriesDescription in brackets."""
    out = write_volume(read_volume(shuffled_series_zip), tmp_path / "n2v.zip", description="n2v")
    assert {ds.SeriesDescription for ds in zip_datasets(out)} == {"T2 (n2v)"}


def test_values_are_rounded_and_clipped_to_the_stored_range(tmp_path: Path):
    """Values beyond the source's stored dtype (int16 for MR_small) are clipped, the rest rounded."""
    source = read_volume(pydicom_file("MR_small.dcm"))  # uint16 with BitsStored 16, no rescale
    data = source.data.copy()
    data[0, 0, :3] = [-50.0, 70000.0, 1234.4]
    out = write_volume(source.with_data(data), tmp_path / "clipped.dcm")
    ds = pydicom.dcmread(out)
    assert (ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation) == (16, 16, 1)  # as MR_small
    assert ds.pixel_array.dtype == np.int16
    assert list(ds.pixel_array[0, :3]) == [-50, 32767, 1234]


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm"])
def test_encoded_sources_are_written_uncompressed_little_endian(name: str, tmp_path: Path):
    """RLE, big-endian or implicit-VR sources give Explicit VR Little Endian output with the same pixels."""
    out = write_volume(read_volume(pydicom_file(name)), tmp_path / "out.dcm")
    ds = pydicom.dcmread(out)
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert np.array_equal(ds.pixel_array, pydicom.dcmread(pydicom_file("MR_small.dcm")).pixel_array)


def test_single_slice_dcm_is_written_as_one_derived_file(tmp_path: Path):
    """A single-slice .dcm input comes back as one derived .dcm, same size and geometry."""
    source_path = pydicom_file("MR_small.dcm")
    volume = read_volume(source_path)
    out = write_volume(volume, tmp_path / "out.dcm")
    ds, original = pydicom.dcmread(out), pydicom.dcmread(source_path)
    assert "NumberOfFrames" not in ds
    assert ds.SOPInstanceUID != original.SOPInstanceUID
    assert ds.StudyInstanceUID == original.StudyInstanceUID and ds.PatientName == original.PatientName
    assert np.array_equal(ds.pixel_array, original.pixel_array)
    assert np.array_equal(read_volume(out).affine, volume.affine)


def test_multiframe_input_gives_one_multiframe_file(enhanced_mr_path: Path, tmp_path: Path):
    """A multi-frame .dcm input is written as one multi-frame .dcm: same frames, new UIDs, DERIVED (value 2
    stays PRIMARY, the only value the enhanced IODs allow there)."""
    volume = read_volume(enhanced_mr_path)
    out = write_volume(volume, tmp_path / "out.dcm")
    ds, original = pydicom.dcmread(out), pydicom.dcmread(enhanced_mr_path)
    assert ds.NumberOfFrames == 10
    assert ds.SeriesInstanceUID != original.SeriesInstanceUID
    assert ds.SOPInstanceUID != original.SOPInstanceUID
    assert ds.StudyInstanceUID == original.StudyInstanceUID
    assert list(ds.ImageType) == ["DERIVED", "PRIMARY", "VOLUME", "NONE"]
    frame_type = ds.SharedFunctionalGroupsSequence[0].MRImageFrameTypeSequence[0].FrameType
    assert list(frame_type) == ["DERIVED", "PRIMARY", "VOLUME", "NONE"]
    assert ds.SeriesDescription == "emri-like (denoised)"
    assert np.array_equal(ds.pixel_array, original.pixel_array)
    assert np.array_equal(read_volume(out).data, volume.data)


def test_multiframe_input_to_zip_gives_one_file_per_slice(enhanced_mr_path: Path, tmp_path: Path):
    """Asked for a .zip, a multi-frame input becomes one MR file per slice in the same study."""
    volume = read_volume(enhanced_mr_path)
    out = write_volume(volume, tmp_path / "out.zip")
    written = zip_datasets(out)
    study = pydicom.dcmread(enhanced_mr_path, stop_before_pixels=True).StudyInstanceUID
    assert len(written) == 10 and all("NumberOfFrames" not in ds for ds in written)
    assert {ds.StudyInstanceUID for ds in written} == {study}
    back = read_volume(out)
    np.testing.assert_allclose(back.affine, volume.affine, atol=1e-6)
    assert np.abs(back.data - volume.data).max() <= float(written[0].RescaleSlope) / 2 + 1e-6


@pytest.mark.slow
def test_new_series_from_a_volume_without_dicom_source(small_mni_volume: Volume, tmp_path: Path):
    """A volume from NIfTI or .npy becomes a new MR series: new study, uint16 with a precise slope."""
    out = write_volume(small_mni_volume, tmp_path / "new.zip")
    written = zip_datasets(out)
    assert len(written) == small_mni_volume.shape[0]
    assert {ds.SOPClassUID for ds in written} == {MRImageStorage}
    assert len({ds.StudyInstanceUID for ds in written}) == 1
    assert len({ds.SOPInstanceUID for ds in written}) == len(written)
    slope = float(written[0].RescaleSlope)
    value_range = float(small_mni_volume.data.max() - small_mni_volume.data.min())
    assert slope <= value_range / 65535 * 1.0001
    back = read_volume(out)
    np.testing.assert_allclose(back.affine, small_mni_volume.affine, atol=1e-4)
    assert np.abs(back.data - small_mni_volume.data).max() <= slope / 2 + 1e-6


def test_integer_volumes_are_stored_exactly(tmp_path: Path):
    """Integer values that fit int16 are stored with slope 1, so they come back exactly."""
    data = np.arange(-1000, 1000, dtype=np.float32).reshape(2, 20, 50)
    back = read_volume(write_volume(Volume(data=data), tmp_path / "ints.dcm"))
    assert np.array_equal(back.data, data)
    assert np.array_equal(back.affine, np.eye(4))


def test_zip_output_is_complete_or_absent(small_mni_volume: Volume, tmp_path: Path):
    """The zip appears under its name only when complete: no temporary files are left beside it."""
    out = write_volume(small_mni_volume, tmp_path / "out.zip")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zip"]
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
