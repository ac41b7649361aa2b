"""Turn a copy of a source header into a derived instance of a new series that dciodvfy accepts.

What "derived" changes, and why (each rule found by validating real inputs with dciodvfy, dicom3tools):
- new SOP Instance UID, the new series' UID, a description, and a Source Image Sequence pointing at the
  instance it came from; Study, Patient and Frame of Reference stay;
- Image Type (and each Frame Type of an enhanced object) value 1 becomes DERIVED. Value 2 becomes SECONDARY
  on classic images, but stays PRIMARY on enhanced (multi-frame functional group) objects, whose IODs allow
  only PRIMARY there;
- on an enhanced DERIVED image the MR Pulse Sequence and Bulk Motion attributes are conditional on Image
  Type value 1 being ORIGINAL or MIXED and "may not be present otherwise", so they are removed.
"""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, generate_uid

# MR Pulse Sequence Module (PS3.3 C.8.13.4) and Bulk Motion Synchronization Module (C.7.6.18.3): required
# only while Image Type value 1 is ORIGINAL or MIXED, not allowed on a DERIVED enhanced image.
ORIGINAL_ONLY_KEYWORDS = (
    "PulseSequenceName",
    "MRAcquisitionType",
    "EchoPulseSequence",
    "MultipleSpinEcho",
    "MultiPlanarExcitation",
    "PhaseContrast",
    "VelocityEncodingAcquisitionSequence",
    "TimeOfFlightContrast",
    "ArterialSpinLabelingContrast",
    "SteadyStatePulseSequence",
    "EchoPlanarPulseSequence",
    "SaturationRecovery",
    "SpectrallySelectedSuppression",
    "OversamplingPhase",
    "GeometryOfKSpaceTraversal",
    "RectilinearPhaseEncodeReordering",
    "SegmentedKSpaceTraversal",
    "CoverageOfKSpace",
    "NumberOfKSpaceTrajectories",
    "BulkMotionCompensationTechnique",
    "BulkMotionSignalSource",
)


def is_enhanced(ds: Dataset) -> bool:
    """Whether `ds` is an enhanced (multi-frame functional group) object rather than a classic image."""
    if "SharedFunctionalGroupsSequence" in ds or "PerFrameFunctionalGroupsSequence" in ds:
        return True
    sop_class = ds.get("SOPClassUID")
    return sop_class is not None and "Enhanced" in UID(str(sop_class)).name


def derived_type(values: object, enhanced: bool, drop: tuple[str, ...] = ()) -> list[str]:
    """An Image Type / Frame Type value marked DERIVED, keeping the values after the second (minus `drop`)."""
    original = [str(v) for v in values] if isinstance(values, list | tuple | MultiValue) else [str(values)]
    rest = [v for v in original[2:] if v.strip().upper() not in drop]
    return ["DERIVED", "PRIMARY" if enhanced else "SECONDARY", *(rest or ["OTHER"])]


def series_description(original: str, description: str) -> str:
    """'<original> (<description>)', within the 64 characters a Long String (LO) may hold."""
    if not original:
        return description[:64]
    suffix = f" ({description})"
    if len(original) + len(suffix) > 64:
        original = original[: max(0, 61 - len(suffix))] + "..."
    return (original + suffix)[:64]


def drop_misplaced_groups(ds: Dataset) -> None:
    """Remove command (0000,xxxx) and file meta (0002,xxxx) elements found in the data set itself.

    They have no place there (a damaged or hand-edited source file), say nothing about the image, and
    pydicom refuses to write a data set that holds them.
    """
    for tag in [element.tag for element in ds if element.tag.group in (0x0000, 0x0002)]:
        del ds[tag]


def derive(ds: Dataset, series_uid: str, description: str, drop_types: tuple[str, ...] = ()) -> None:
    """Make `ds` (a copy of a source header) a derived instance of the series `series_uid`."""
    drop_misplaced_groups(ds)
    enhanced = is_enhanced(ds)
    source_class, source_instance = ds.get("SOPClassUID"), ds.get("SOPInstanceUID")
    ds.SOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = series_uid
    ds.ImageType = derived_type(ds.get("ImageType", []), enhanced, drop_types)
    # Enhanced objects repeat the image type per frame (MR Image Frame Type and the like).
    for groups in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        for group in ds.get(groups, []):
            for element in group:
                if element.keyword.endswith("FrameTypeSequence") and element.value:
                    for item in element.value:
                        if "FrameType" in item:
                            item.FrameType = derived_type(item.FrameType, True, drop_types)
    if enhanced:
        for keyword in ORIGINAL_ONLY_KEYWORDS:
            if keyword in ds:
                delattr(ds, keyword)
    ds.SeriesDescription = series_description(str(ds.get("SeriesDescription", "")), description)
    ds.DerivationDescription = f"{description} by fetal-denoise"
    if source_class and source_instance:
        reference = Dataset()
        reference.ReferencedSOPClassUID = source_class
        reference.ReferencedSOPInstanceUID = source_instance
        ds.SourceImageSequence = DicomSequence([reference])
