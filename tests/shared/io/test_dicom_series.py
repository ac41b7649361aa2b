"""DICOM series in a zip or a directory: filtering, series choice, slice order, geometry, values."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from io_helpers import dicom_bytes, make_zip
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from shared.errors import AmbiguousSeriesError, InvalidVolumeError
from shared.io import read_volume, write_volume
from shared.volume import Volume


def precision(datasets: list[Dataset]) -> float:
    """Half the rescale step: the most a stored integer can be off from the real value it stands for."""
    return float(datasets[0].RescaleSlope) / 2 + 1e-6


def test_shuffled_renamed_zip_reads_in_position_order(
    shuffled_series_zip: Path, series_volume: Volume, series_files: list[Dataset]
):
    """Slices in random order, random names and sub-folders, scrambled InstanceNumber: geometry and
    values come back as written, README and DICOMDIR are ignored."""
    volume = read_volume(shuffled_series_zip)
    assert volume.shape == series_volume.shape
    np.testing.assert_allclose(volume.affine, series_volume.affine, atol=1e-4)
    assert np.abs(volume.data - series_volume.data).max() <= precision(series_files)
    assert volume.source_format == "dicom-zip"


def test_directory_reads_like_the_zip(tmp_path: Path, series_files: list[Dataset], series_volume: Volume):
    """A directory of slice files (nested, no extensions) is the same series as its zip."""
    for k, ds in enumerate(reversed(series_files)):
        folder = tmp_path / "series" / f"part{k % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{k:03d}").write_bytes(dicom_bytes(ds))
    volume = read_volume(tmp_path / "series")
    np.testing.assert_allclose(volume.affine, series_volume.affine, atol=1e-4)
    assert np.abs(volume.data - series_volume.data).max() <= precision(series_files)
    assert volume.source_format == "dicom-dir"


def _second_series(series_files: list[Dataset], description: str, count: int) -> list[Dataset]:
    """The first `count` slices as another series (new UID, new description)."""
    uid = generate_uid()
    copies = []
    for ds in series_files[:count]:
        other = copy.deepcopy(ds)
        other.SeriesInstanceUID, other.SeriesDescription, other.SOPInstanceUID = (
            uid,
            description,
            generate_uid(),
        )
        copies.append(other)
    return copies


@pytest.mark.slow
def test_two_series_need_a_choice(tmp_path: Path, series_files: list[Dataset], series_volume: Volume):
    """Two series without series_uid: the error lists each UID, description and slice count;
    series_uid= then reads the one chosen."""
    other = _second_series(series_files, "T1", 5)
    members = {f"a{k}.dcm": dicom_bytes(ds) for k, ds in enumerate(series_files)}
    members.update({f"b{k}.dcm": dicom_bytes(ds) for k, ds in enumerate(other)})
    path = make_zip(tmp_path / "two.zip", members)
    t2_uid, t1_uid = str(series_files[0].SeriesInstanceUID), str(other[0].SeriesInstanceUID)

    with pytest.raises(AmbiguousSeriesError) as caught:
        read_volume(path)
    listed = sorted([(t2_uid, "'T2', 16 slices"), (t1_uid, "'T1', 5 slices")])
    assert str(caught.value) == (
        "two.zip: holds 2 DICOM series; choose one with series_uid (the API field; on the command line --series-uid): "
        + ", ".join(f"{uid} ({what})" for uid, what in listed)
    )
    assert read_volume(path, series_uid=t2_uid).shape == series_volume.shape
    assert read_volume(path, series_uid=t1_uid).shape == (5, 64, 64)


def test_an_unknown_series_uid_is_reported(shuffled_series_zip: Path, series_files: list[Dataset]):
    """A series_uid that is not in the upload names what is there."""
    uid = str(series_files[0].SeriesInstanceUID)
    with pytest.raises(AmbiguousSeriesError) as caught:
        read_volume(shuffled_series_zip, series_uid="1.2.3")
    assert str(caught.value) == (
        f"upload.zip: no series has SeriesInstanceUID 1.2.3; it holds {uid} ('T2', 16 slices)"
    )


def test_a_missing_slice_is_refused(tmp_path: Path, series_files: list[Dataset]):
    """A gap in the slice positions would distort the volume, so it is an error."""
    kept = series_files[:7] + series_files[8:]
    path = make_zip(tmp_path / "gap.zip", {f"{k}.dcm": dicom_bytes(ds) for k, ds in enumerate(kept)})
    with pytest.raises(InvalidVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == (
        "gap.zip: the slices are unevenly spaced (gaps from 2 to 4 mm); a slice may be missing"
    )


def test_repeated_positions_are_refused(tmp_path: Path, series_files: list[Dataset]):
    """Two slices at one position (echoes, time points) cannot be stacked into one volume."""
    repeat = copy.deepcopy(series_files[3])
    repeat.SOPInstanceUID = generate_uid()
    members = {f"{k}.dcm": dicom_bytes(ds) for k, ds in enumerate([*series_files, repeat])}
    with pytest.raises(InvalidVolumeError) as caught:
        read_volume(make_zip(tmp_path / "echo.zip", members))
    assert str(caught.value) == (
        "echo.zip: two or more slices share a position along the slice normal; "
        "the series mixes several volumes (echoes, time points) or repeats a slice"
    )


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        (
            "ImageOrientationPatient",
            [0, 1, 0, 0, 0, -1],
            "the slices have different ImageOrientationPatient values",
        ),
        ("PixelSpacing", [1.0, 1.0], "the slices have different PixelSpacing values"),
    ],
)
def test_inconsistent_geometry_is_refused(
    tmp_path: Path, series_files: list[Dataset], keyword: str, value: list[float], message: str
):
    """Slices that disagree on orientation or pixel spacing are not one volume."""
    odd = copy.deepcopy(series_files[5])
    setattr(odd, keyword, value)
    files = [*series_files[:5], odd, *series_files[6:]]
    path = make_zip(tmp_path / "odd.zip", {f"{k}.dcm": dicom_bytes(ds) for k, ds in enumerate(files)})
    with pytest.raises(InvalidVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == f"odd.zip: {message}"


def test_slices_of_different_sizes_are_refused(tmp_path: Path, series_files: list[Dataset]):
    """Slices with different rows x columns are not one volume."""
    odd = copy.deepcopy(series_files[2])
    odd.set_pixel_data(odd.pixel_array[:32, :48].copy(), "MONOCHROME2", 16)
    files = [*series_files[:2], odd, *series_files[3:]]
    path = make_zip(tmp_path / "sizes.zip", {f"{k}.dcm": dicom_bytes(ds) for k, ds in enumerate(files)})
    with pytest.raises(InvalidVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == "sizes.zip: the slices have different sizes (rows x columns): 32x48, 64x64"


def test_oblique_geometry_round_trips(tmp_path: Path, series_volume: Volume):
    """An oblique, anisotropic affine survives writing a series and reading it back (LPS <-> RAS)."""
    angle = np.deg2rad(20.0)
    rotation = np.array(
        [[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]]
    ) @ np.array([[np.cos(0.3), -np.sin(0.3), 0], [np.sin(0.3), np.cos(0.3), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([0.9, 1.1, 3.0])
    affine[:3, 3] = [12.5, -40.25, 7.0]
    volume = Volume(data=series_volume.data, affine=affine)

    back = read_volume(write_volume(volume, tmp_path / "oblique.zip"))
    np.testing.assert_allclose(back.affine, affine, atol=1e-4)
    assert np.abs(back.data - volume.data).max() <= 1e-5


@pytest.mark.parametrize("keyword", ["ImageOrientationPatient", "PixelSpacing"])
def test_geometry_missing_from_some_slices_is_refused(
    tmp_path: Path, series_files: list[Dataset], keyword: str
):
    """One slice without the orientation or spacing the others state is refused, not given a default."""
    odd = copy.deepcopy(series_files[5])
    delattr(odd, keyword)
    files = [*series_files[:5], odd, *series_files[6:]]
    path = make_zip(tmp_path / "odd.zip", {f"{k}.dcm": dicom_bytes(ds) for k, ds in enumerate(files)})
    with pytest.raises(InvalidVolumeError) as caught:
        read_volume(path)
    assert str(caught.value) == f"odd.zip: the slices have different {keyword} values"
