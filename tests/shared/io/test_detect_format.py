"""Format detection by name, and limits from settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.errors import UnreadableVolumeError, UnsupportedFormatError
from shared.io import ReadLimits, detect_format, output_format, read_volume, write_volume
from shared.settings import Settings, get_settings
from shared.volume import Volume

SUPPORTED = (
    "NIfTI (.nii, .nii.gz), a DICOM series as a .zip or a directory, a single DICOM file (.dcm), NumPy (.npy)"
)


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("brain.nii", "nifti"),
        ("brain.nii.gz", "nifti"),
        ("BRAIN.NII.GZ", "nifti"),
        ("series.zip", "dicom-zip"),
        ("slice.dcm", "dicom"),
        ("Slice.DCM", "dicom"),
        ("volume.npy", "npy"),
    ],
)
def test_formats_are_detected_from_the_name(file_name: str, expected: str):
    """Each supported extension maps to its format key, whatever its case."""
    assert detect_format(Path("/nowhere") / file_name) == expected


def test_a_directory_is_a_dicom_series(tmp_path: Path):
    """An existing directory is read as a DICOM series."""
    assert detect_format(tmp_path) == "dicom-dir"


@pytest.mark.parametrize("file_name", ["scan.gz", "scan.png", "scan", "scan.nii.bak"])
def test_unknown_extensions_are_refused_with_the_supported_list(file_name: str):
    """An unknown extension names the file and lists what is supported."""
    with pytest.raises(UnsupportedFormatError) as caught:
        detect_format(file_name)
    assert str(caught.value) == f"{file_name}: unsupported file format; supported: {SUPPORTED}"


def test_read_names_the_upload_not_the_stored_file(tmp_path: Path):
    """Errors call the file by the name the caller gave (the upload's original filename)."""
    stored = tmp_path / "3f2a.bin"
    stored.write_bytes(b"data")
    with pytest.raises(UnsupportedFormatError) as caught:
        read_volume(stored, name="my scan.bin")
    assert str(caught.value) == f"my scan.bin: unsupported file format; supported: {SUPPORTED}"


def test_a_missing_file_is_reported(tmp_path: Path):
    """A path that does not exist is an input error naming the file."""
    with pytest.raises(UnreadableVolumeError) as caught:
        read_volume(tmp_path / "absent.nii.gz")
    assert str(caught.value) == "absent.nii.gz: no such file or directory"


def test_writing_to_an_unknown_extension_is_refused(tmp_path: Path):
    """The output format comes from the extension too; nothing is written for an unknown one."""
    volume = Volume(data=np.ones((2, 3, 4), dtype=np.float32))
    with pytest.raises(UnsupportedFormatError):
        write_volume(volume, tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


def test_limits_come_from_the_settings():
    """ReadLimits mirrors the given settings, or the process's settings by default."""
    settings = Settings(MAX_FILE_BYTES=11, MAX_VOXELS=22, MAX_ZIP_MEMBERS=33, MAX_ZIP_UNCOMPRESSED_BYTES=44)
    assert ReadLimits.from_settings(settings) == ReadLimits(11, 22, 33, 44)
    default = get_settings()
    assert ReadLimits.from_settings().max_voxels == default.MAX_VOXELS
    assert ReadLimits.from_settings().max_zip_members == default.MAX_ZIP_MEMBERS


WRITABLE_HINT = "not a file to write a volume to; name a file ending in .nii, .nii.gz, .dcm, .zip or .npy (a directory cannot be one)"


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("results", "results"),
        ("results/", "results"),
        ("made_dir", "made_dir"),
        ("made.zip", "made.zip"),
        ("out.png", "out.png"),
    ],
    ids=[
        "no suffix",
        "trailing separator",
        "existing directory",
        "directory named like a zip",
        "unknown suffix",
    ],
)
def test_every_unwritable_output_gets_one_error(target: str, shown: str, tmp_path: Path):
    """A directory (existing, or a name ending in a separator) and a name without a writable suffix get the
    same error, before anything is written; output_format gives it up front, write_volume the same."""
    (tmp_path / "made_dir").mkdir()
    (tmp_path / "made.zip").mkdir()
    before = sorted(tmp_path.iterdir())
    volume = Volume(data=np.ones((2, 3, 4), dtype=np.float32))
    for attempt in (
        lambda: output_format(f"{tmp_path}/{target}"),
        lambda: write_volume(volume, f"{tmp_path}/{target}"),
    ):
        with pytest.raises(UnsupportedFormatError) as caught:
            attempt()
        assert str(caught.value) == f"{shown}: {WRITABLE_HINT}"
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.nii.gz", "nifti"), ("b.NII", "nifti"), ("c.zip", "dicom-zip"), ("d.dcm", "dicom"), ("e.npy", "npy")],
)
def test_output_format_follows_the_suffix(name: str, expected: str, tmp_path: Path):
    """A file name with a writable suffix names its format, whether or not the file exists yet."""
    assert output_format(tmp_path / name) == expected
