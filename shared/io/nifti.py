"""NIfTI-1/2 (.nii, .nii.gz) reading and writing with nibabel; the header travels with the volume."""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError
from nibabel.spatialimages import HeaderDataError

from shared.atomic import atomic_path
from shared.errors import InvalidVolumeError, TooManyVolumesError, UnreadableVolumeError
from shared.io.formats import NIFTI
from shared.io.limits import ReadLimits, check_voxel_count, library_detail
from shared.io.nifti_header import read_declared_header
from shared.io.nifti_source import NiftiSource
from shared.io.stored_type import input_stored_type
from shared.volume import Volume, check_voxels

_NIBABEL_ERRORS = (
    ImageFileError,
    HeaderDataError,
    OSError,
    EOFError,
    ValueError,
    OverflowError,  # a header value no integer can hold (an infinite offset the checks above did not see)
    zlib.error,
)


def _array_shape(shape: tuple[int, ...], name: str) -> tuple[int, ...]:
    """The (X, Y, Z) shape of one volume, or (X, Y, Z, T) of a series, stored in an image of `shape`.

    A 2D image is one slice; trailing dimensions of length 1 are dropped; a 4D image with several volumes
    (DWI, fMRI, repetitions) is a series. Five or more dimensions with more than one entry beyond the
    fourth (vector or tensor images) have no denoising meaning here and are refused.
    """
    if any(n < 0 for n in shape):
        raise UnreadableVolumeError(f"{name}: the header declares a negative dimension (shape {shape})")
    if len(shape) < 2:
        raise InvalidVolumeError(f"{name}: a {len(shape)}D image (shape {shape}); expected 2D, 3D or 4D")
    x, y = int(shape[0]), int(shape[1])
    z = int(shape[2]) if len(shape) > 2 else 1
    t = int(shape[3]) if len(shape) > 3 else 1
    beyond = int(np.prod(shape[4:])) if len(shape) > 4 else 1
    if beyond > 1:
        raise TooManyVolumesError(
            f"{name}: a {len(shape)}D image (shape {shape}); only 2D, 3D and 4D (a series of volumes) "
            "images can be denoised"
        )
    return (x, y, z) if t == 1 else (x, y, z, t)


def _check_vox_offset(path: Path, name: str) -> None:
    """Refuse a header whose vox_offset is no byte offset at all (NaN or infinite): nibabel's own checks fail on
    it with a bare OverflowError."""
    declared = read_declared_header(path)
    if declared is not None and not math.isfinite(declared.vox_offset):
        raise UnreadableVolumeError(
            f"{name}: the header's vox_offset is {declared.vox_offset}, not the byte offset of the voxels"
        )


def _check_voxel_type(dtype: np.dtype, code: int, name: str) -> None:
    """Refuse voxels that are not one real number each: RGB colour (a record of channels) or complex values
    (casting them to real would silently drop the imaginary part)."""
    if dtype.kind == "c":
        raise InvalidVolumeError(
            f"{name}: the voxels are complex numbers (NIfTI data type {code}); denoise a real-valued image, "
            "such as the magnitude"
        )
    if dtype.kind not in "biuf":
        raise InvalidVolumeError(
            f"{name}: the voxels are not single numbers (NIfTI data type {code}, e.g. RGB colour); only "
            "grey-level images can be denoised"
        )


def read_nifti(path: Path, limits: ReadLimits, name: str) -> Volume:
    """Read a 2D, 3D or 4D NIfTI file, scaling applied, into a (Z, Y, X) volume or a (T, Z, Y, X) series."""
    _check_vox_offset(path, name)
    try:
        image = nib.load(path, mmap=False)
        if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
            raise UnreadableVolumeError(f"{name}: not a NIfTI image ({type(image).__name__})")
        _check_voxel_type(image.header.get_data_dtype(), int(image.header["datatype"]), name)
        shape = tuple(int(n) for n in image.header.get_data_shape())
        array_shape = _array_shape(shape, name)
        check_voxel_count(array_shape, limits, name)
        # get_fdata applies scl_slope / scl_inter; float32 is the volume's own dtype.
        data_xyz = image.get_fdata(dtype=np.float32).reshape(array_shape)
    except _NIBABEL_ERRORS as exc:
        raise UnreadableVolumeError(
            f"{name}: cannot be read as NIfTI ({library_detail(exc, path, name)})"
        ) from exc
    data = np.ascontiguousarray(data_xyz.transpose(tuple(reversed(range(data_xyz.ndim)))))
    check_voxels(data, name)
    # A loaded image's header no longer holds the scaling (nibabel moves it to the data proxy): keep both.
    slope, inter = (
        float(getattr(image.dataobj, field, default)) for field, default in (("slope", 1.0), ("inter", 0.0))
    )
    source = NiftiSource(
        format=NIFTI,
        header=image.header.copy(),
        shape=shape,
        dtype=image.header.get_data_dtype(),
        slope=slope if np.isfinite(slope) and slope != 0 else 1.0,
        inter=inter if np.isfinite(inter) else 0.0,
    )
    return Volume(data=data, affine=image.affine, source=source)


def _new_header(volume: Volume, description: str) -> nib.Nifti1Header:
    """A header for a volume that did not come from NIfTI: scanner coordinates in mm."""
    header = nib.Nifti1Header()
    header.set_qform(volume.affine, code="scanner")
    header.set_sform(volume.affine, code="scanner")
    header.set_xyzt_units(xyz="mm", t="sec")
    header["descrip"] = description.encode("ascii", "replace")[:79]
    return header


def write_nifti(volume: Volume, path: Path, description: str, keep_dtype: bool = False) -> Path:
    """Write `volume` as NIfTI; a NIfTI source's header (and on-disk shape) is kept as it was.

    Values are float32 without scaling, or with `keep_dtype` the input's own data type and scaling, by the
    rule in stored_type.py (round half to even, clip to the type's range).
    """
    data_xyz = volume.data.transpose(tuple(reversed(range(volume.data.ndim))))  # (T,)Z,Y,X -> X,Y,Z(,T)
    source = volume.source
    if isinstance(source, NiftiSource):
        header = source.header.copy()
        if int(np.prod(source.shape)) == data_xyz.size:
            data_xyz = data_xyz.reshape(source.shape)
    else:
        header = _new_header(volume, description)
    if keep_dtype:
        stored_type = input_stored_type(volume, path.name)
        array, (slope, inter) = (
            stored_type.store(np.asarray(data_xyz)),
            (stored_type.slope, stored_type.inter),
        )
    else:
        # Denoised values are floats in the volume's own scale: no scaling on disk.
        array, (slope, inter) = np.asarray(data_xyz, dtype=np.float32), (1.0, 0.0)
    header.set_data_dtype(array.dtype)
    image_class = nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
    image = image_class(array, volume.affine, header)
    # Set after construction: nibabel's constructor resets the scaling of a header given with an array.
    image.header.set_slope_inter(slope, inter)
    with atomic_path(path) as tmp:
        nib.save(image, tmp)
    return path
