"""Fixtures for the volume I/O tests: real DICOM series written from MNI152 anatomy, zips, temp dirs."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
from io_helpers import dicom_bytes, make_zip, pydicom_file, zip_datasets
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import EnhancedMRImageStorage, ExplicitVRLittleEndian, generate_uid

from shared.io import write_volume
from shared.volume import Volume


@pytest.fixture
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point `tempfile` at an empty folder, so a test can assert a reader leaves nothing behind."""
    folder = tmp_path / "tempdir"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture(scope="session")
def series_volume(small_mni_volume: Volume) -> Volume:
    """16 axial slices (2 mm, 64x64) of the MNI152 template: a multi-slice volume for DICOM series."""
    affine = small_mni_volume.affine.copy()
    affine[:3, 3] += 16 * affine[:3, 2]
    return Volume(data=np.ascontiguousarray(small_mni_volume.data[16:32]), affine=affine)


@pytest.fixture(scope="session")
def series_files(series_volume: Volume, tmp_path_factory: pytest.TempPathFactory) -> list[Dataset]:
    """The series volume as one DICOM MR slice per file, with patient and study tags of an original 'T2'.

    InstanceNumber is scrambled on purpose: readers must order slices by position.
    """
    written = write_volume(series_volume, tmp_path_factory.mktemp("series") / "t2.zip")
    datasets = zip_datasets(written)
    numbers = list(range(1, len(datasets) + 1))
    random.Random(3).shuffle(numbers)
    for ds, number in zip(datasets, numbers, strict=True):
        ds.PatientName, ds.PatientID = "Fetal^Test", "FD-0001"
        ds.StudyDescription, ds.AccessionNumber = "fetal brain", "ACC42"
        ds.SeriesDescription = "T2"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
        ds.InstanceNumber = number
    return datasets


@pytest.fixture
def shuffled_series_zip(series_files: list[Dataset], tmp_path: Path) -> Path:
    """The series zipped in random order under random names and sub-folders, beside non-image files."""
    rng = random.Random(7)
    order = list(range(len(series_files)))
    rng.shuffle(order)
    # Sub-folders, no extension, names unrelated to the slice order.
    members = {
        f"scan/{k % 3}/IM{rng.randrange(10**6):06d}_{k}": dicom_bytes(series_files[i])
        for k, i in enumerate(order)
    }
    members["README.txt"] = b"not a DICOM file"
    dicomdir = pydicom_file("DICOMDIR")
    if dicomdir is not None:
        members["DICOMDIR"] = dicomdir.read_bytes()
    return make_zip(tmp_path / "upload.zip", members)


@pytest.fixture(scope="session")
def enhanced_mr_path(small_mni_volume: Volume, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An enhanced MR multi-frame file like pydicom's emri_small.dcm: 10 frames of 64x64, no per-frame
    geometry, only shared pixel measures and a shared rescale (slope 0.5, intercept 10)."""
    stored = np.rint(small_mni_volume.data[19:29] * 4000).astype(np.uint16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = EnhancedMRImageStorage, generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.SeriesDescription = "MR", "emri-like"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    measures = Dataset()
    measures.PixelSpacing = [0.5, 0.75]
    measures.SliceThickness = 2.0
    transform = Dataset()
    transform.RescaleSlope, transform.RescaleIntercept, transform.RescaleType = 0.5, 10, "US"
    frame_type = Dataset()
    frame_type.FrameType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    shared = Dataset()
    shared.MRImageFrameTypeSequence = Sequence([frame_type])
    shared.PixelMeasuresSequence = Sequence([measures])
    shared.PixelValueTransformationSequence = Sequence([transform])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.set_pixel_data(stored, "MONOCHROME2", 16, generate_instance_uid=False)
    path = tmp_path_factory.mktemp("enhanced") / "emri_like.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path
