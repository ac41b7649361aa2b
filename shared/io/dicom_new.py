"""Build a new DICOM MR series from a volume's affine and values, optionally in an existing study."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import LegacyConvertedEnhancedMRImageStorage, MRImageStorage, generate_uid
from pydicom.valuerep import format_number_as_ds

from shared.io.dicom_derive import series_description
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
# Acquisition attributes of a classic MR image that a new single-frame series keeps from a DICOM source
# (they are true of the data); from any other source they are present and empty (type 2).
MR_KEYWORDS = (
    "PatientPosition",
    "ScanOptions",
    "MRAcquisitionType",
    "RepetitionTime",
    "EchoTime",
    "EchoTrainLength",
)
# Type 2 attributes of the Patient, General Study, General Series, Frame of Reference and General Equipment
# modules: a new series without a DICOM source cannot know them, and the IOD lets them be empty.
TYPE2_KEYWORDS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    "Laterality",
    "PositionReferenceIndicator",
    "Manufacturer",
)


def ds_strings(values: Sequence[float] | np.ndarray) -> list[str]:
    """Numbers as valid (at most 16 character) DICOM decimal strings."""
    return [format_number_as_ds(float(v)) for v in values]


def _common(base: Dataset | None, description: str, multiframe: bool) -> Dataset:
    """Patient / study / series tags shared by every instance of the new series."""
    ds = Dataset()  # only named, public attributes are copied from `base`, so nothing misplaced comes along
    kept = STUDY_KEYWORDS if multiframe else STUDY_KEYWORDS + MR_KEYWORDS
    for keyword in kept:
        if base is not None and keyword in base:
            ds[keyword] = base[keyword]
    for keyword in TYPE2_KEYWORDS if multiframe else TYPE2_KEYWORDS + MR_KEYWORDS:
        ds.setdefault(keyword, None)
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
    ds.SeriesDescription = series_description(original, description)
    ds.DerivationDescription = f"{description} by fetal-denoise"
    # Enhanced (multi-frame) IODs allow only PRIMARY as value 2; classic MR images take SECONDARY.
    ds.ImageType = (
        ["DERIVED", "PRIMARY", "VOLUME", "NONE"] if multiframe else ["DERIVED", "SECONDARY", "OTHER", "NONE"]
    )
    ds.ScanningSequence, ds.SequenceVariant = "RM", "NONE"
    ds.PhotometricInterpretation = "MONOCHROME2"
    return ds


def new_series(volume: Volume, description: str, base: Dataset | None, multiframe: bool) -> list[Dataset]:
    """The volume as MR images: one per slice, or one multi-frame object with per-frame positions.

    Values are stored as int16/uint16 with a RescaleSlope chosen to keep precision; geometry comes
    from the affine. Patient and study tags come from `base` when given, else a new study is made.
    A series of T volumes becomes T x Z single-frame images at the same Z positions, each volume with its
    own TemporalPositionIdentifier and AcquisitionNumber (1..T), which is how the reader splits it again.
    """
    encoding = choose_encoding(volume.data)
    z = volume.frame_shape[0]
    plane, positions, gap = dicom_from_affine(volume.affine, z)
    frames = volume.data if volume.is_series else volume.data[None]
    stored = to_stored(frames, encoding.slope, encoding.intercept, 16, encoding.dtype)
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
        return [_multiframe(common, stored[0], positions, plane.orientation, geometry, rescale)]
    slices = []
    for t, volume_stored in enumerate(stored):
        for k, position in enumerate(positions):
            ds = copy.deepcopy(common)
            ds.SOPInstanceUID = generate_uid()
            ds.InstanceNumber = t * z + k + 1
            if volume.is_series:
                ds.AcquisitionNumber = t + 1
                ds.TemporalPositionIdentifier = t + 1
                ds.NumberOfTemporalPositions = len(stored)
            ds.ImageOrientationPatient = ds_strings(plane.orientation)
            ds.ImagePositionPatient = ds_strings(position)
            for keyword, value in {**geometry, **rescale}.items():
                setattr(ds, keyword, value)
            set_pixels(ds, volume_stored[k : k + 1], 16, multiframe=False)
            slices.append(ds)
    return slices


def _multiframe(
    common: Dataset,
    stored: np.ndarray,
    positions: np.ndarray,
    orientation: np.ndarray,
    geometry: Mapping[str, object],
    rescale: Mapping[str, object],
) -> Dataset:
    """One Legacy Converted Enhanced MR object: shared geometry and rescale, one position per frame.

    The frames form one stack (StackID 1, InStackPositionNumber 1..Z); MR Image Frame Type is shared and
    DERIVED like the Image Type; the per-frame Unassigned Converted Attributes sequence holds one empty item
    (its macro asks for one) and the Acquisition Context sequence (type 2) is present and empty.
    """
    ds = copy.deepcopy(common)
    ds.SOPInstanceUID = generate_uid()
    ds.InstanceNumber = 1
    ds.AcquisitionContextSequence = DicomSequence([])
    shared = Dataset()
    shared.PixelMeasuresSequence = DicomSequence([Dataset()])
    shared.PixelMeasuresSequence[0].update(geometry)
    shared.PlaneOrientationSequence = DicomSequence([Dataset()])
    shared.PlaneOrientationSequence[0].ImageOrientationPatient = ds_strings(orientation)
    shared.PixelValueTransformationSequence = DicomSequence([Dataset()])
    shared.PixelValueTransformationSequence[0].update(rescale)
    # Common CT/MR image description, at image and frame level: a greyscale, whole-volume, uncomputed image.
    description = {
        "PixelPresentation": "MONOCHROME",
        "VolumetricProperties": "VOLUME",
        "VolumeBasedCalculationTechnique": "NONE",
    }
    for keyword, value in description.items():
        setattr(ds, keyword, value)
    ds.PresentationLUTShape = "IDENTITY"
    shared.MRImageFrameTypeSequence = DicomSequence([Dataset()])
    shared.MRImageFrameTypeSequence[0].FrameType = list(ds.ImageType)
    for keyword, value in description.items():
        setattr(shared.MRImageFrameTypeSequence[0], keyword, value)
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(
        [_frame_group(position, k) for k, position in enumerate(positions)]
    )
    set_pixels(ds, stored, 16, multiframe=True)
    return ds


def _frame_group(position: np.ndarray, index: int) -> Dataset:
    """The per-frame functional group of frame `index`: its position and place in the stack."""
    group = Dataset()
    group.PlanePositionSequence = DicomSequence([Dataset()])
    group.PlanePositionSequence[0].ImagePositionPatient = ds_strings(position)
    group.FrameContentSequence = DicomSequence([Dataset()])
    group.FrameContentSequence[0].StackID = "1"
    group.FrameContentSequence[0].InStackPositionNumber = index + 1
    group.UnassignedPerFrameConvertedAttributesSequence = DicomSequence([Dataset()])
    return group
