"""Siemens mosaics: real mosaic DWI unpacked into slices at the right positions, series of mosaic files,
and a clear refusal for every mosaic that cannot be unpacked with certainty."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from io_helpers import dicom_bytes, heudiconv_data, make_zip, nicom_file
from pydicom.dataset import Dataset

from shared.errors import AmbiguousSeriesError, InvalidVolumeError, UnreadableVolumeError
from shared.io import read_volume

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # nibabel.nicom says on import that its DICOM readers are experimental
    from nibabel.nicom import dicomwrappers

# nibabel's test of siemens_dwi_1000.dcm (test_dicomwrappers.EXPECTED_AFFINE): the affine of this real b=1000
# mosaic as checked against SPM's own conversion, with voxel axes (column, row, slice) as this project orders
# them. An independent reference, not an output of this project.
SPM_CHECKED_AFFINE = np.array(
    [
        [-1.796875, 0, 0, 115],
        [0, -1.79684984, -0.01570896, 135.028779],
        [0, -0.00940843750, 2.99995887, -78.710481],
        [0, 0, 0, 1],
    ]
)


@pytest.fixture
def dwi_pair(tmp_path: Path) -> tuple[Path, Path]:
    """nibabel's two real Siemens mosaic DWI files of one series: b=0 (acquisition 1), b=1000 (acquisition 2)."""
    return nicom_file("siemens_dwi_0.dcm.gz", tmp_path), nicom_file("siemens_dwi_1000.dcm.gz", tmp_path)


def test_a_mosaic_unpacks_into_its_slices_at_the_spm_checked_affine(dwi_pair: tuple[Path, Path]):
    """A 896x896 mosaic of 48 slices reads as 48 slices of 128x128 at the position SPM gives them; the slices
    are nibabel's own unpacking of the same file, tile for tile."""
    _, b1000 = dwi_pair
    volume = read_volume(b1000)
    assert volume.shape == (48, 128, 128) and not volume.is_series
    np.testing.assert_allclose(volume.affine, SPM_CHECKED_AFFINE, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unpacked = dicomwrappers.wrapper_from_data(pydicom.dcmread(b1000)).get_data()  # (rows, cols, slices)
    assert np.array_equal(volume.data, unpacked.transpose(2, 0, 1).astype(np.float32))
    assert volume.source is not None and volume.source.warnings == ()


def test_mosaic_files_form_a_series_in_acquisition_order(dwi_pair: tuple[Path, Path], tmp_path: Path):
    """Two mosaic files of one series are a (T, Z, Y, X) series ordered by acquisition, not by file name."""
    b0, b1000 = dwi_pair
    path = make_zip(tmp_path / "dwi.zip", {"a.dcm": b1000.read_bytes(), "b.dcm": b0.read_bytes()})
    series = read_volume(path)
    assert series.is_series and series.shape == (2, 48, 128, 128)
    assert np.array_equal(series.data[0], read_volume(b0).data)
    assert np.array_equal(series.data[1], read_volume(b1000).data)
    np.testing.assert_allclose(series.affine, SPM_CHECKED_AFFINE, atol=1e-5)


@pytest.mark.slow
def test_heudiconv_dwi_mosaics_are_three_volumes_with_a_repeated_pair():
    """heudiconv's real mosaic DWI (81 slices of 152x150, 1.5 mm): three volumes; the two b=5 acquisitions,
    4 s apart, agree far better with each other than with the b=1500 one (a real Noise2Noise pair)."""
    series = read_volume(heudiconv_data() / "b0dwiForFmap")
    assert series.shape == (3, 81, 152, 150)
    np.testing.assert_allclose(series.spacing, (1.5, 1.5, 1.5), atol=1e-6)
    first, repeat, b1500 = (frame.data.ravel() for frame in series.frames())
    assert np.corrcoef(first, repeat)[0, 1] > 0.9
    assert np.corrcoef(first, repeat)[0, 1] > np.corrcoef(first, b1500)[0, 1] + 0.1


def test_a_mosaic_that_does_not_fill_its_tile_grid_is_refused():
    """nibabel's 0.dcm: 48 slices need a 7x7 grid, but the image is 256x256: refused, never cropped."""
    with pytest.raises(InvalidVolumeError) as caught:
        read_volume(nicom_file("0.dcm", Path()))
    assert str(caught.value) == (
        "0.dcm: a Siemens mosaic that cannot be unpacked: its 256x256 image does not divide into the 7x7 grid "
        "of tiles that 48 slices need"
    )


def _edited(path: Path, edit: object, target: Path) -> Path:
    """A copy of a DICOM file after `edit(dataset)`."""
    ds = pydicom.dcmread(path)
    edit(ds)  # type: ignore[operator]
    target.write_bytes(dicom_bytes(ds))
    return target


def test_a_mosaic_without_its_csa_header_is_refused(dwi_pair: tuple[Path, Path], tmp_path: Path):
    """Without the Siemens CSA header the number of slices is unknown: refused, not read as one slice."""
    path = _edited(dwi_pair[0], Dataset.remove_private_tags, tmp_path / "no_csa.dcm")
    with pytest.raises(InvalidVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == (
        "no_csa.dcm: a Siemens mosaic that cannot be unpacked: it has no Siemens CSA image header, so the "
        "number and layout of its slices are unknown"
    )


def _set_protocol_slice_number(ds: Dataset) -> None:
    """Rewrite the first tile's ProtocolSliceNumber in the CSA image header from 0 to 5 (same length)."""
    element = ds[0x0029, 0x1010]
    start = element.value.index(b"ProtocolSliceNumber")
    value = element.value.index(b"0       ", start)
    element.value = element.value[:value] + b"5" + element.value[value + 1 :]


def test_a_mosaic_numbered_in_reverse_is_refused(dwi_pair: tuple[Path, Path], tmp_path: Path):
    """A CSA ProtocolSliceNumber above 1 means reversed slice numbering, whose positions no one can verify."""
    path = _edited(dwi_pair[0], _set_protocol_slice_number, tmp_path / "reversed.dcm")
    with pytest.raises(InvalidVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == (
        "reversed.dcm: a Siemens mosaic that cannot be unpacked: its CSA ProtocolSliceNumber starts at 5, i.e. "
        "its slices are numbered in reverse, so their positions cannot be verified"
    )


def test_a_garbled_csa_header_is_unreadable(dwi_pair: tuple[Path, Path], tmp_path: Path):
    """A CSA header cut short is an UnreadableVolumeError naming the file, not a library traceback."""

    def cut(ds: Dataset) -> None:
        ds[0x0029, 0x1010].value = ds[0x0029, 0x1010].value[:200]

    with pytest.raises(UnreadableVolumeError) as caught:
        read_volume(_edited(dwi_pair[0], cut, tmp_path / "cut_csa.dcm"))
    assert str(caught.value).startswith("cut_csa.dcm: is a Siemens mosaic whose CSA header cannot be read (")


def test_mosaic_files_of_different_geometry_are_refused(dwi_pair: tuple[Path, Path], tmp_path: Path):
    """Two mosaic files whose slices lie elsewhere are not one series of volumes."""

    def shift(ds: Dataset) -> None:
        ds.ImagePositionPatient = [float(v) + 5.0 for v in ds.ImagePositionPatient]

    moved = _edited(dwi_pair[1], shift, tmp_path / "moved.dcm")
    path = make_zip(
        tmp_path / "dwi.zip", {"b0.dcm": dwi_pair[0].read_bytes(), "b1000.dcm": moved.read_bytes()}
    )
    with pytest.raises(InvalidVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == (
        "dwi.zip: the mosaic files do not share one geometry (dwi.zip: b1000.dcm differs from dwi.zip: b0.dcm in "
        "its slices, tiles, orientation or position)"
    )


def test_mosaics_mixed_with_ordinary_images_are_refused(dwi_pair: tuple[Path, Path], tmp_path: Path):
    """A series that holds mosaic and ordinary images is neither one volume nor a series of them."""

    def plain(ds: Dataset) -> None:
        ds.ImageType = [v for v in ds.ImageType if v != "MOSAIC"]

    ordinary = _edited(dwi_pair[1], plain, tmp_path / "plain.dcm")
    path = make_zip(
        tmp_path / "mixed.zip", {"m.dcm": dwi_pair[0].read_bytes(), "p.dcm": ordinary.read_bytes()}
    )
    with pytest.raises(InvalidVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == (
        "mixed.zip: the series mixes 1 Siemens mosaic file(s) with 1 ordinary image file(s); it cannot be read "
        "as one volume or one series of volumes"
    )


def test_a_mosaic_without_spacing_between_slices_says_what_it_assumed(
    dwi_pair: tuple[Path, Path], tmp_path: Path
):
    """Without SpacingBetweenSlices the slices are placed one SliceThickness apart, and the volume says so."""

    def drop(ds: Dataset) -> None:
        del ds.SpacingBetweenSlices

    volume = read_volume(_edited(dwi_pair[1], drop, tmp_path / "no_gap.dcm"))
    assert volume.spacing[0] == pytest.approx(2.5)  # SliceThickness; the true spacing is 3 mm
    assert volume.source is not None and volume.source.warnings == (
        "The mosaic states no SpacingBetweenSlices: its slices were placed one SliceThickness (2.5 mm) apart, "
        "which is too close if the acquisition left gaps between slices.",
    )


def test_a_single_mosaic_copied_into_a_folder_reads_like_the_file(
    dwi_pair: tuple[Path, Path], tmp_path: Path
):
    """A directory holding one mosaic file is that one volume."""
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(dwi_pair[0], folder / "IM0001")
    assert np.array_equal(read_volume(folder).data, read_volume(dwi_pair[0]).data)


def test_mosaic_series_are_listed_by_file_count(dwi_pair: tuple[Path, Path], tmp_path: Path):
    """Two series, one of them mosaics: the choice lists the mosaic series by its number of files."""

    def other_series(ds: Dataset) -> None:
        ds.SeriesInstanceUID, ds.SeriesDescription = "1.2.826.0.1.3680043.10.543.1", "other"

    other = _edited(dwi_pair[0], other_series, tmp_path / "other.dcm")
    path = make_zip(
        tmp_path / "two.zip",
        {"a.dcm": dwi_pair[0].read_bytes(), "b.dcm": dwi_pair[1].read_bytes(), "c.dcm": other.read_bytes()},
    )
    uid = str(pydicom.dcmread(dwi_pair[0], stop_before_pixels=True).SeriesInstanceUID)
    with pytest.raises(AmbiguousSeriesError) as caught:
        read_volume(path)
    assert str(caught.value) == (
        "two.zip: holds 2 DICOM series; choose one with series_uid (the API field; on the command line --series-uid): 1.2.826.0.1.3680043.10.543.1 ('other', "
        f"1 mosaic file), {uid} ('{pydicom.dcmread(dwi_pair[0], stop_before_pixels=True).SeriesDescription}', "
        "2 mosaic files)"
    )
