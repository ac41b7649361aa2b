"""Write a volume as DICOM: a derived series of its DICOM source, or a new MR series."""

from __future__ import annotations

import copy
import io
from pathlib import Path

import numpy as np
from pydicom import __version__ as pydicom_version
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

from shared.atomic import atomic_path
from shared.errors import UnsupportedFormatError
from shared.io.archive import write_zip
from shared.io.dicom_derive import derive
from shared.io.dicom_new import new_series
from shared.io.dicom_pixels import set_pixels, to_source_dtype
from shared.io.dicom_source import DicomSource
from shared.io.dicom_unpacked import slices_from_mosaics
from shared.volume import Volume

_PACKABLE_BITS = (8, 16, 32)


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


def _stored_layout(header: Dataset) -> tuple[int, int, int] | None:
    """(BitsAllocated, BitsStored, PixelRepresentation) when they describe integers this writer can pack."""
    try:
        allocated, stored, signed = (
            int(header.get(k)) for k in ("BitsAllocated", "BitsStored", "PixelRepresentation")
        )
    except (TypeError, ValueError):  # absent, several values or not a number: a damaged source
        return None
    if allocated not in _PACKABLE_BITS or not 1 <= stored <= allocated or signed not in (0, 1):
        return None
    return allocated, stored, signed


def _can_derive(volume: Volume, as_multiframe: bool) -> bool:
    """Whether the volume still matches its DICOM source closely enough to write a derived copy of it.

    Otherwise (another shape, a source header too damaged to copy: no SOP Class, no usable pixel layout) a
    new MR series is written, which keeps the source's patient and study.
    """
    source = volume.source
    if not isinstance(source, DicomSource) or not source.datasets:
        return False
    if any(_stored_layout(ds) is None or not ds.get("SOPClassUID") for ds in source.datasets):
        return False
    first = source.datasets[0]
    volumes = volume.shape[0] if volume.is_series else 1
    z, rows, columns = volume.frame_shape
    if source.mosaic:
        # A mosaic is written as single-frame slices (see dicom_unpacked); one .dcm file gets a new series.
        return not as_multiframe and len(source.datasets) == volumes == len(source.rescale)
    if source.multiframe != as_multiframe or (first.get("Rows"), first.get("Columns")) != (rows, columns):
        return False
    expected = 1 if source.multiframe else volumes * z
    return len(source.datasets) == expected and len(source.rescale) == volumes * z


def build_datasets(
    volume: Volume, description: str, multiframe: bool, *, as_new_series: bool = False
) -> list[Dataset]:
    """The instances to write: a derived copy of a matching DICOM source, else (or when `as_new_series`, for
    values the source's stored type cannot hold, such as a signed residual) a new MR series in its study."""
    source = volume.source
    if as_new_series or not (_can_derive(volume, multiframe) and isinstance(source, DicomSource)):
        base = source.datasets[0] if isinstance(source, DicomSource) and source.datasets else None
        return new_series(volume, description, base, multiframe)
    series_uid = generate_uid()
    if source.mosaic:
        return slices_from_mosaics(volume, source, series_uid, description)
    slices = volume.data.reshape((-1, *volume.shape[-2:]))  # (T x Z, Y, X), volume by volume
    if multiframe:
        ds = copy.deepcopy(source.datasets[0])
        derive(ds, series_uid, description)
        stored = np.stack([to_source_dtype(slices[k], source.rescale[k], ds) for k in range(len(slices))])
        # Frames go back in the file's own order so per-frame functional groups still match.
        stored[list(source.frame_order)] = stored.copy()
        set_pixels(ds, stored, int(ds.BitsStored), multiframe=True)
        return [ds]
    derived = []
    for k, header in enumerate(source.datasets):
        ds = copy.deepcopy(header)
        derive(ds, series_uid, description)
        stored = to_source_dtype(slices[k : k + 1], source.rescale[k], header)
        set_pixels(ds, stored, int(ds.BitsStored), multiframe="NumberOfFrames" in header)
        derived.append(ds)
    return derived


def _encode(ds: Dataset) -> bytes:
    """One instance as a DICOM Part 10 file."""
    _file_meta(ds)
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def write_dicom_zip(volume: Volume, path: Path, description: str, *, as_new_series: bool = False) -> Path:
    """A zip holding one DICOM file per slice (per slice of each volume, for a series)."""
    datasets = build_datasets(volume, description, multiframe=False, as_new_series=as_new_series)
    return write_zip(((f"slice_{k + 1:04d}.dcm", _encode(ds)) for k, ds in enumerate(datasets)), path)


def write_dicom_file(volume: Volume, path: Path, description: str, *, as_new_series: bool = False) -> Path:
    """One `.dcm` file: a single slice, or a multi-frame object for more than one slice.

    A series of volumes has no single-file form here: it is refused, naming the formats that hold it.
    """
    if volume.is_series:
        raise UnsupportedFormatError(
            f"{path.name}: a series of {volume.shape[0]} volumes cannot be written as one .dcm file; "
            "name a .zip (a DICOM series of single-frame slices), .nii or .nii.gz file"
        )
    as_multiframe = volume.shape[0] > 1 or (
        isinstance(volume.source, DicomSource) and volume.source.multiframe
    )
    (ds,) = build_datasets(volume, description, multiframe=as_multiframe, as_new_series=as_new_series)
    content = _encode(ds)
    with atomic_path(path) as tmp:
        tmp.write_bytes(content)
    return path
