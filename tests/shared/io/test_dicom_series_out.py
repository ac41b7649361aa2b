"""Series of volumes in DICOM: mosaic and 4D inputs written back as derived series that keep each volume's
identity, and read back as the same series."""

from __future__ import annotations

import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from io_helpers import dicom_bytes, make_zip, nicom_file, zip_datasets
from pydicom.dataset import Dataset

from shared.errors import InvalidVolumeError, UnsupportedFormatError
from shared.io import read_volume, write_volume
from shared.volume import Volume


@pytest.fixture
def dwi_zip(tmp_path: Path) -> Path:
    """nibabel's two real Siemens mosaic DWI files (b=0, b=1000) as one zip."""
    members = {
        name: nicom_file(f"{name}.gz", tmp_path).read_bytes()
        for name in ("siemens_dwi_0.dcm", "siemens_dwi_1000.dcm")
    }
    return make_zip(tmp_path / "dwi.zip", members)


@pytest.fixture
def series_4d_nifti(small_mni_volume: Volume, tmp_path: Path) -> Path:
    """A 4D NIfTI of three 12-slice volumes of MNI anatomy with different contrast (a small 'fMRI')."""
    frames = np.stack([small_mni_volume.data[18:30] * (1000 + 300 * t) for t in range(3)])
    affine = small_mni_volume.affine.copy()
    affine[:3, 3] += 18 * affine[:3, 2]
    path = tmp_path / "fmri.nii.gz"
    nib.save(nib.Nifti1Image(frames.transpose(3, 2, 1, 0), affine), path)
    return path


def _by_volume(datasets: list[Dataset]) -> dict[int, list[Dataset]]:
    """The written instances grouped by TemporalPositionIdentifier."""
    groups: dict[int, list[Dataset]] = {}
    for ds in datasets:
        groups.setdefault(int(ds.TemporalPositionIdentifier), []).append(ds)
    return groups


@pytest.mark.slow
def test_mosaic_series_becomes_single_frame_slices_that_keep_each_volume(dwi_zip: Path, tmp_path: Path):
    """Each slice of each mosaic volume becomes a derived MR image: its volume's own acquisition number and
    b-value, a temporal position, no mosaic flag and no private (CSA) header; read back, the same series."""
    series = read_volume(dwi_zip)
    denoised = series.with_data(series.data * 0.9)
    written = zip_datasets(write_volume(denoised, tmp_path / "out.zip"))

    assert len(written) == 2 * 48
    volumes = _by_volume(written)
    assert sorted(volumes) == [1, 2]
    for position, b_value in ((1, 0.0), (2, 1000.0)):
        slices = volumes[position]
        assert len(slices) == 48
        assert {int(ds.AcquisitionNumber) for ds in slices} == {position}  # as in the source files
        assert {float(ds.DiffusionBValue) for ds in slices} == {b_value}
        assert {int(ds.NumberOfTemporalPositions) for ds in slices} == {2}
    sources = {str(ds.SOPInstanceUID) for ds in zip_datasets(dwi_zip)}
    for ds in written:
        assert "MOSAIC" not in list(ds.ImageType) and ds.ImageType[0] == "DERIVED"
        assert not any(element.tag.is_private for element in ds)
        assert (ds.Rows, ds.Columns) == (128, 128)
        assert str(ds.SourceImageSequence[0].ReferencedSOPInstanceUID) in sources
    assert sorted(int(ds.InstanceNumber) for ds in written) == list(range(1, 97))

    back = read_volume(write_volume(denoised, tmp_path / "again.zip"))
    assert back.shape == series.shape
    np.testing.assert_allclose(back.affine, series.affine, atol=1e-4)
    assert np.abs(back.data - denoised.data).max() <= 0.5 + 1e-6  # stored as the source's integers


def test_a_single_mosaic_written_as_dcm_is_one_multiframe_file(dwi_zip: Path, tmp_path: Path):
    """One mosaic file asked back as .dcm: one multi-frame object in the same study, same slices and geometry."""
    source = pydicom.dcmread(nicom_file("siemens_dwi_0.dcm.gz", tmp_path), stop_before_pixels=True)
    volume = read_volume(tmp_path / "siemens_dwi_0.dcm")
    out = write_volume(volume, tmp_path / "out.dcm")
    ds = pydicom.dcmread(out)
    assert int(ds.NumberOfFrames) == 48 and (ds.Rows, ds.Columns) == (128, 128)
    assert ds.StudyInstanceUID == source.StudyInstanceUID and ds.PatientID == source.PatientID
    back = read_volume(out)
    np.testing.assert_allclose(back.affine, volume.affine, atol=1e-4)
    assert np.array_equal(back.data, volume.data)


@pytest.mark.slow
def test_a_4d_nifti_becomes_a_dicom_series_that_reads_back_as_4d(series_4d_nifti: Path, tmp_path: Path):
    """A NIfTI series becomes T x Z MR images, each volume numbered by TemporalPositionIdentifier and
    AcquisitionNumber; reading the zip gives the same (T, Z, Y, X) series and geometry."""
    series = read_volume(series_4d_nifti)
    out = write_volume(series, tmp_path / "fmri.zip")
    written = zip_datasets(out)
    assert len(written) == 3 * 12
    volumes = _by_volume(written)
    assert {t: {int(ds.AcquisitionNumber) for ds in v} for t, v in volumes.items()} == {
        1: {1},
        2: {2},
        3: {3},
    }
    assert len({str(ds.SeriesInstanceUID) for ds in written}) == 1

    back = read_volume(out)
    assert back.is_series and back.shape == series.shape
    np.testing.assert_allclose(back.affine, series.affine, atol=1e-4)
    slope = float(written[0].RescaleSlope)
    assert np.abs(back.data - series.data).max() <= slope / 2 + 1e-3


@pytest.mark.slow
def test_a_series_split_by_acquisition_number_alone(series_4d_nifti: Path, tmp_path: Path):
    """Without TemporalPositionIdentifier, AcquisitionNumber tells the volumes apart."""
    written = zip_datasets(write_volume(read_volume(series_4d_nifti), tmp_path / "fmri.zip"))
    for ds in written:
        del ds.TemporalPositionIdentifier
    path = make_zip(tmp_path / "acq.zip", {f"{k}.dcm": dicom_bytes(ds) for k, ds in enumerate(written)})
    back = read_volume(path)
    assert back.shape == (3, 12, 64, 64)
    assert back.data[2].mean() > back.data[1].mean() > back.data[0].mean()  # contrast grows with t


@pytest.mark.slow
def test_a_volume_with_a_missing_slice_is_refused(series_4d_nifti: Path, tmp_path: Path):
    """Volumes that do not each cover every position are refused, saying how the series split."""
    written = zip_datasets(write_volume(read_volume(series_4d_nifti), tmp_path / "fmri.zip"))
    kept = [
        ds for ds in written if not (int(ds.TemporalPositionIdentifier) == 2 and int(ds.InstanceNumber) == 15)
    ]
    path = make_zip(tmp_path / "gap.zip", {f"{k}.dcm": dicom_bytes(ds) for k, ds in enumerate(kept)})
    with pytest.raises(InvalidVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == (
        "gap.zip: the series holds 35 slices at 12 positions, but its TemporalPositionIdentifier values split it "
        "into 3 groups of 11, 12 slices, not into volumes of 12 slices each"
    )


@pytest.mark.slow
def test_a_dicom_4d_series_written_again_keeps_each_volume_identity(series_4d_nifti: Path, tmp_path: Path):
    """A 4D DICOM input comes back as a derived series: each slice's own temporal position, new UIDs."""
    source_zip = write_volume(read_volume(series_4d_nifti), tmp_path / "fmri.zip")
    series = read_volume(source_zip)
    written = zip_datasets(write_volume(series.with_data(series.data + 1), tmp_path / "derived.zip"))
    source = zip_datasets(source_zip)
    assert len(written) == len(source)
    assert {str(ds.SOPInstanceUID) for ds in written}.isdisjoint({str(ds.SOPInstanceUID) for ds in source})
    assert sorted((int(ds.TemporalPositionIdentifier), int(ds.InstanceNumber)) for ds in written) == sorted(
        (int(ds.TemporalPositionIdentifier), int(ds.InstanceNumber)) for ds in source
    )
    assert all(ds.ImageType[0] == "DERIVED" for ds in written)


def test_a_series_cannot_be_one_dcm_file(series_4d_nifti: Path, tmp_path: Path):
    """A series of volumes asked as one .dcm is refused, naming the formats that hold it; nothing is written."""
    with pytest.raises(UnsupportedFormatError) as caught:
        write_volume(read_volume(series_4d_nifti), tmp_path / "out.dcm")
    assert str(caught.value) == (
        "out.dcm: a series of 3 volumes cannot be written as one .dcm file; name a .zip (a DICOM series of "
        "single-frame slices), .nii or .nii.gz file"
    )
    assert list(tmp_path.glob("out*")) == []


def test_written_zip_members_are_named_in_instance_order(series_4d_nifti: Path, tmp_path: Path):
    """Members are slice_0001.dcm ... in InstanceNumber order, so a listing shows volume after volume."""
    out = write_volume(read_volume(series_4d_nifti), tmp_path / "fmri.zip")
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        numbers = [
            int(pydicom.dcmread(archive.open(n), stop_before_pixels=True).InstanceNumber) for n in names
        ]
    assert names == [f"slice_{k:04d}.dcm" for k in range(1, 37)] and numbers == list(range(1, 37))
