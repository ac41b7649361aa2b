"""NIfTI-1/2 (.nii, .nii.gz) reading and writing with nibabel; the header travels with the volume."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError
from nibabel.spatialimages import HeaderDataError

from shared.atomic import atomic_path
from shared.errors import InvalidVolumeError, TooManyVolumesError, UnreadableVolumeError
from shared.io.formats import NIFTI
from shared.io.limits import ReadLimits, check_voxel_count, library_detail
from shared.volume import SourceMetadata, Volume, check_voxels

_NIBABEL_ERRORS = (ImageFileError, HeaderDataError, OSError, EOFError, ValueError, zlib.error)


@dataclass(frozen=True, eq=False)
class NiftiSource(SourceMetadata):
    """The original header (geometry, codes, units, descrip) and on-disk shape (2D, 3D or 4D of one)."""

    header: nib.Nifti1Header
    shape: tuple[int, ...]


def _squeezed_shape(shape: tuple[int, ...], name: str) -> tuple[int, int, int]:
    """The (X, Y, Z) shape of the one volume stored in an image of `shape`."""
    if len(shape) < 2:
        raise InvalidVolumeError(f"{name}: a {len(shape)}D image (shape {shape}); expected 2D or 3D")
    extra = shape[3:]
    volumes = int(np.prod(extra)) if extra else 1
    if volumes > 1:
        raise TooManyVolumesError(
            f"{name}: a 4D image with {volumes} volumes (shape {shape}); only a single 3D volume can be read"
        )
    x, y = shape[0], shape[1]
    z = shape[2] if len(shape) > 2 else 1
    return (int(x), int(y), int(z))


def read_nifti(path: Path, limits: ReadLimits, name: str) -> Volume:
    """Read a 2D, 3D, or 4D-with-one-volume NIfTI file, scaling applied, into a (Z, Y, X) volume."""
    try:
        image = nib.load(path, mmap=False)
        if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
            raise UnreadableVolumeError(f"{name}: not a NIfTI image ({type(image).__name__})")
        shape = tuple(int(n) for n in image.header.get_data_shape())
        xyz = _squeezed_shape(shape, name)
        check_voxel_count(xyz, limits, name)
        # get_fdata applies scl_slope / scl_inter; float32 is the volume's own dtype.
        data_xyz = image.get_fdata(dtype=np.float32).reshape(xyz)
    except _NIBABEL_ERRORS as exc:
        raise UnreadableVolumeError(
            f"{name}: cannot be read as NIfTI ({library_detail(exc, path, name)})"
        ) from exc
    data = np.ascontiguousarray(data_xyz.transpose(2, 1, 0))
    check_voxels(data, name)
    source = NiftiSource(format=NIFTI, header=image.header.copy(), shape=shape)
    return Volume(data=data, affine=image.affine, source=source)


def _new_header(volume: Volume, description: str) -> nib.Nifti1Header:
    """A header for a volume that did not come from NIfTI: scanner coordinates in mm."""
    header = nib.Nifti1Header()
    header.set_qform(volume.affine, code="scanner")
    header.set_sform(volume.affine, code="scanner")
    header.set_xyzt_units(xyz="mm", t="sec")
    header["descrip"] = description.encode("ascii", "replace")[:79]
    return header


def write_nifti(volume: Volume, path: Path, description: str) -> Path:
    """Write `volume` as float32 NIfTI; a NIfTI source's header (and on-disk shape) is kept as it was."""
    data_xyz = volume.data.transpose(2, 1, 0)
    source = volume.source
    if isinstance(source, NiftiSource):
        header = source.header.copy()
        if int(np.prod(source.shape)) == data_xyz.size:
            data_xyz = data_xyz.reshape(source.shape)
    else:
        header = _new_header(volume, description)
    header.set_data_dtype(np.float32)
    # Denoised values are floats in the volume's own scale: no scaling on disk.
    header.set_slope_inter(1.0, 0.0)
    image_class = nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
    image = image_class(np.asarray(data_xyz, dtype=np.float32), volume.affine, header)
    with atomic_path(path) as tmp:
        nib.save(image, tmp)
    return path
