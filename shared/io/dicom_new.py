"""Build a new DICOM MR series from a volume's affine and values, optionally in an existing study."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import LegacyConvertedEnhancedMRImageStorage, MRImageStorage, generate_uid
from pydicom.valuerep import format_number_as_ds

from shared.io.dicom_geometry import dicom_from_affine
from shared.io.dicom_pixels import choose_encoding, set_pixels, to_stored
from shared.volume import Volume

# Patient, study, frame-of-reference and equipment tags a new series keeps from its source.
STUDY_KEYWORDS = (
    "SpecificCharacterSet",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyDescription",
    "FrameOfReferenceUID",
    "PositionReferenceIndicator",
    "Manufacturer",
)


def ds_strings(values: Sequence[float] | np.ndarray) -> list[str]:
    """Numbers as valid (at most 16 character) DICOM decimal strings."""
    return [format_number_as_ds(float(v)) for v in values]


def _common(base: Dataset | None, description: str, multiframe: bool) -> Dataset:
    """Patient / study / series tags shared by every instance of the new series."""
    ds = Dataset()
    for keyword in STUDY_KEYWORDS:
        if base is not None and keyword in base:
            ds[keyword] = base[keyword]
    ds.setdefault("PatientName", "")
    ds.setdefault("PatientID", "")
    ds.setdefault("StudyInstanceUID", generate_uid())
    ds.setdefault("FrameOfReferenceUID", generate_uid())
    now = datetime.now()
    ds.setdefault("StudyDate", now.strftime("%Y%m%d"))
    ds.setdefault("StudyTime", now.strftime("%H%M%S"))
    ds.ContentDate, ds.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.SOPClassUID = LegacyConvertedEnhancedMRImageStorage if multiframe else MRImageStorage
    ds.Modality = "MR"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 1
    original = str(base.get("SeriesDescription", "")) if base is not None else ""
    ds.SeriesDescription = f"{original} ({description})" if original else description
    ds.DerivationDescription = f"{description} by fetal-denoise"
    ds.ImageType = ["DERIVED", "SECONDARY", "VOLUME" if multiframe else "OTHER", "NONE"]
    ds.ScanningSequence, ds.SequenceVariant = "RM", "NONE"
    ds.PhotometricInterpretation = "MONOCHROME2"
    return ds


def new_series(volume: Volume, description: str, base: Dataset | None, multiframe: bool) -> list[Dataset]:
    """The volume as MR images: one per slice, or one multi-frame object with per-frame positions.

    Values are stored as int16/uint16 with a RescaleSlope chosen to keep precision; geometry comes
    from the affine. Patient and study tags come from `base` when given, else a new study is made.
    """
    encoding = choose_encoding(volume.data)
    plane, positions, gap = dicom_from_affine(volume.affine, volume.shape[0])
    stored = to_stored(volume.data, encoding.slope, encoding.intercept, 16, encoding.dtype)
    geometry = {
        "PixelSpacing": ds_strings(plane.pixel_spacing),
        "SliceThickness": format_number_as_ds(gap),
        "SpacingBetweenSlices": format_number_as_ds(gap),
    }
    rescale = {
        "RescaleSlope": format_number_as_ds(encoding.slope),
        "RescaleIntercept": format_number_as_ds(encoding.intercept),
        "RescaleType": "US",
    }
    common = _common(base, description, multiframe)
    if multiframe:
        ds = copy.deepcopy(common)
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = 1
        shared = Dataset()
        shared.PixelMeasuresSequence = DicomSequence([Dataset()])
        shared.PixelMeasuresSequence[0].update(geometry)
        shared.PlaneOrientationSequence = DicomSequence([Dataset()])
        shared.PlaneOrientationSequence[0].ImageOrientationPatient = ds_strings(plane.orientation)
        shared.PixelValueTransformationSequence = DicomSequence([Dataset()])
        shared.PixelValueTransformationSequence[0].update(rescale)
        ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
        ds.PerFrameFunctionalGroupsSequence = DicomSequence(
            [_frame_group(position, k) for k, position in enumerate(positions)]
        )
        set_pixels(ds, stored, 16, multiframe=True)
        return [ds]
    slices = []
    for k, position in enumerate(positions):
        ds = copy.deepcopy(common)
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = ds_strings(plane.orientation)
        ds.ImagePositionPatient = ds_strings(position)
        for keyword, value in {**geometry, **rescale}.items():
            setattr(ds, keyword, value)
        set_pixels(ds, stored[k : k + 1], 16, multiframe=False)
        slices.append(ds)
    return slices


def _frame_group(position: np.ndarray, index: int) -> Dataset:
    """The per-frame functional group of frame `index`: its position and place in the stack."""
    group = Dataset()
    group.PlanePositionSequence = DicomSequence([Dataset()])
    group.PlanePositionSequence[0].ImagePositionPatient = ds_strings(position)
    group.FrameContentSequence = DicomSequence([Dataset()])
    group.FrameContentSequence[0].InStackPositionNumber = index + 1
    return group
