"""Write a volume as DICOM: a derived series of its DICOM source, or a new MR series."""

from __future__ import annotations

import copy
import io
from pathlib import Path

import numpy as np
from pydicom import __version__ as pydicom_version
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

from shared.atomic import atomic_path
from shared.io.archive import write_zip
from shared.io.dicom_new import new_series
from shared.io.dicom_pixels import set_pixels, stored_dtype, to_stored
from shared.io.dicom_source import DicomSource
from shared.volume import Volume

_PACKABLE_BITS = (8, 16, 32)


def _derived_type(values: object) -> list[str]:
    """An ImageType / FrameType value marked DERIVED, SECONDARY, keeping the values after the second."""
    original = [str(v) for v in values] if isinstance(values, list | tuple | MultiValue) else [str(values)]
    return ["DERIVED", "SECONDARY", *(original[2:] or ["OTHER"])]


def _derive(ds: Dataset, series_uid: str, description: str) -> None:
    """Turn a copy of a source header into a derived instance of a new series (same study, patient)."""
    source_class, source_instance = ds.get("SOPClassUID"), ds.get("SOPInstanceUID")
    ds.SOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = series_uid
    ds.ImageType = _derived_type(ds.get("ImageType", []))
    # Enhanced objects repeat the image type per frame (MR Image Frame Type and the like).
    for groups in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        for group in ds.get(groups, []):
            for element in group:
                if element.keyword.endswith("FrameTypeSequence") and element.value:
                    for item in element.value:
                        if "FrameType" in item:
                            item.FrameType = _derived_type(item.FrameType)
    original = str(ds.get("SeriesDescription", ""))
    ds.SeriesDescription = f"{original} ({description})" if original else description
    ds.DerivationDescription = f"{description} by fetal-denoise"
    if source_class and source_instance:
        reference = Dataset()
        reference.ReferencedSOPClassUID = source_class
        reference.ReferencedSOPInstanceUID = source_instance
        ds.SourceImageSequence = DicomSequence([reference])


def _file_meta(ds: Dataset) -> None:
    """File meta for uncompressed Explicit VR Little Endian, matching the dataset's SOP identity."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = f"PYDICOM {pydicom_version}"[:16]
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128


def _to_source_dtype(values: np.ndarray, rescale: tuple[float, float], header: Dataset) -> np.ndarray:
    """Real values back in the source's stored dtype and range, via its original rescale."""
    dtype = stored_dtype(int(header.BitsAllocated), int(header.PixelRepresentation))
    slope, intercept = rescale
    return to_stored(values, slope, intercept, int(header.BitsStored), dtype)


def _can_derive(volume: Volume, as_multiframe: bool) -> bool:
    """Whether the volume still matches its DICOM source closely enough to write a derived copy."""
    source = volume.source
    if not isinstance(source, DicomSource) or source.multiframe != as_multiframe:
        return False
    expected = 1 if source.multiframe else volume.shape[0]
    first = source.datasets[0]
    return (
        len(source.datasets) == expected
        and len(source.rescale) == volume.shape[0]
        and (int(first.Rows), int(first.Columns)) == volume.shape[1:]
        and int(first.get("BitsAllocated", 0)) in _PACKABLE_BITS
    )


def build_datasets(volume: Volume, description: str, multiframe: bool) -> list[Dataset]:
    """The instances to write: a derived copy of a matching DICOM source, else a new MR series."""
    source = volume.source
    if _can_derive(volume, multiframe) and isinstance(source, DicomSource):
        series_uid = generate_uid()
        if multiframe:
            ds = copy.deepcopy(source.datasets[0])
            _derive(ds, series_uid, description)
            stored = np.stack(
                [_to_source_dtype(volume.data[k], source.rescale[k], ds) for k in range(volume.shape[0])]
            )
            # Frames go back in the file's own order so per-frame functional groups still match.
            stored[list(source.frame_order)] = stored.copy()
            set_pixels(ds, stored, int(ds.BitsStored), multiframe=True)
            return [ds]
        derived = []
        for k, header in enumerate(source.datasets):
            ds = copy.deepcopy(header)
            _derive(ds, series_uid, description)
            stored = _to_source_dtype(volume.data[k : k + 1], source.rescale[k], header)
            set_pixels(ds, stored, int(ds.BitsStored), multiframe="NumberOfFrames" in header)
            derived.append(ds)
        return derived
    base = source.datasets[0] if isinstance(source, DicomSource) else None
    return new_series(volume, description, base, multiframe)


def _encode(ds: Dataset) -> bytes:
    """One instance as a DICOM Part 10 file."""
    _file_meta(ds)
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def write_dicom_zip(volume: Volume, path: Path, description: str) -> Path:
    """A zip holding one DICOM file per slice."""
    datasets = build_datasets(volume, description, multiframe=False)
    return write_zip(((f"slice_{k + 1:04d}.dcm", _encode(ds)) for k, ds in enumerate(datasets)), path)


def write_dicom_file(volume: Volume, path: Path, description: str) -> Path:
    """One `.dcm` file: a single slice, or a multi-frame object for more than one slice."""
    as_multiframe = volume.shape[0] > 1 or (
        isinstance(volume.source, DicomSource) and volume.source.multiframe
    )
    (ds,) = build_datasets(volume, description, multiframe=as_multiframe)
    content = _encode(ds)
    with atomic_path(path) as tmp:
        tmp.write_bytes(content)
    return path
