"""Write a volume read from Siemens mosaics back as ordinary single-frame DICOM slices.

Why slices and not re-packed mosaics: a mosaic is a Siemens convention that only works together with the
private CSA header (slice count, slice normal, slice order) and a deliberately "wrong" ImagePositionPatient
(the corner of the whole mosaic). Re-packing would mean forging that private header; and viewers, PACS and
converters that do not know the convention show a grid of tiles. Single-frame MR images, one per slice
with its own ImagePositionPatient, are standard, so every DICOM reader (this project's included) places
them correctly. Each volume keeps its own identity: its header is a copy of its own mosaic file's
(AcquisitionNumber, acquisition time, echo and repetition times, ...), with TemporalPositionIdentifier
1..T in a series, and, for diffusion, the b-value and gradient direction of the CSA header in the standard
DiffusionBValue and DiffusionGradientOrientation attributes. Private elements are removed: they describe
the mosaic (CSA header, Siemens' own NumberOfImagesInMosaic) and would make a reader unpack a single slice
as a mosaic.
"""

from __future__ import annotations

import copy
import warnings as python_warnings
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.valuerep import format_number_as_ds

from shared.io.dicom_derive import derive
from shared.io.dicom_geometry import dicom_from_affine
from shared.io.dicom_new import ds_strings
from shared.io.dicom_pixels import set_pixels, to_source_dtype
from shared.io.dicom_source import DicomSource
from shared.volume import Volume

with python_warnings.catch_warnings():
    python_warnings.simplefilter("ignore")  # nibabel.nicom warns on import that its readers are experimental
    from nibabel.nicom import csareader


def _diffusion(header: Dataset) -> dict[str, Any]:
    """DiffusionBValue and DiffusionGradientOrientation from a mosaic's CSA header, when it states them."""
    try:
        csa = csareader.get_csa_header(header, "image")
        b_value = csareader.get_b_value(csa) if csa is not None else None
        gradient = csareader.get_g_vector(csa) if csa is not None else None
    except (csareader.CSAError, KeyError, IndexError, ValueError, TypeError):
        return {}  # the reader already read this header; a value it cannot give is simply not written
    values: dict[str, Any] = {}
    if b_value is not None:
        values["DiffusionBValue"] = float(b_value)
    if gradient is not None and np.shape(gradient) == (3,) and np.all(np.isfinite(gradient)):
        values["DiffusionGradientOrientation"] = [float(v) for v in gradient]
    return values


def slices_from_mosaics(
    volume: Volume, source: DicomSource, series_uid: str, description: str
) -> list[Dataset]:
    """One derived single-frame MR image per slice of each volume, volume by volume."""
    frames = volume.data if volume.is_series else volume.data[None]
    volumes, z = frames.shape[0], frames.shape[1]
    plane, positions, _ = dicom_from_affine(volume.affine, z)
    derived = []
    for t, (header, scale) in enumerate(zip(source.datasets, source.rescale, strict=True)):
        stored = to_source_dtype(frames[t], scale, header)
        diffusion = _diffusion(header)
        template = copy.deepcopy(header)
        template.remove_private_tags()
        for k, position in enumerate(positions):
            ds = copy.deepcopy(template)
            derive(ds, series_uid, description, drop_types=("MOSAIC",))
            ds.ImageOrientationPatient = ds_strings(plane.orientation)
            ds.ImagePositionPatient = ds_strings(position)
            ds.SliceLocation = format_number_as_ds(float(position @ plane.normal))
            ds.InstanceNumber = t * z + k + 1
            ds.ImagesInAcquisition = z
            if volume.is_series:
                ds.TemporalPositionIdentifier = t + 1
                ds.NumberOfTemporalPositions = volumes
            for keyword, value in diffusion.items():
                setattr(ds, keyword, value)
            set_pixels(ds, stored[k : k + 1], int(header.BitsStored), multiframe=False)
            derived.append(ds)
    return derived
