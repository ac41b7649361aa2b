"""Siemens mosaics: a volume's slices tiled into one 2D image, unpacked with the geometry of their CSA header.

A mosaic file (ImageType holds MOSAIC) stores N slices as tiles of a g x g grid (g = ceil(sqrt(N)), blank
tiles at the end), row by row. N, the sign of the slice normal and the slice order live in Siemens' private
CSA header, which nibabel's `nicom` reads; its `MosaicWrapper` also knows the mosaic geometry: the tile grid
and the position of the first slice (the file's ImagePositionPatient is that of the whole mosaic's corner,
not of a slice). Slices are unpacked in tile order, which Siemens writes in ascending order along the CSA
slice normal; a mosaic whose CSA ProtocolSliceNumber says the numbering was reversed is refused, as is
anything else that cannot be unpacked with certainty. One mosaic file is one volume; a series of mosaic
files (DWI, fMRI) is a (T, Z, Y, X) series in acquisition order.
"""

from __future__ import annotations

import warnings as python_warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from shared.errors import InvalidVolumeError
from shared.io.dicom_geometry import PlaneGeometry, affine_from_dicom, same_orientation
from shared.io.dicom_headers import DicomHeader, dropped_warning, rescale
from shared.io.dicom_pixels import decode_frames
from shared.io.dicom_source import DicomSource
from shared.io.dicom_values import library_errors, one_integer, one_number
from shared.io.limits import ReadLimits, check_voxel_count
from shared.volume import Volume, check_voxels

with python_warnings.catch_warnings():
    # nibabel.nicom warns on import that its DICOM readers are experimental; we use its CSA reader and
    # the mosaic geometry, which its own tests check against SPM's conversion of real Siemens data.
    python_warnings.simplefilter("ignore")
    from nibabel.nicom import csareader, dicomwrappers

_POSITION_TOLERANCE_MM = 1e-3


@dataclass(frozen=True, eq=False)
class MosaicLayout:
    """How one mosaic file unpacks: its slices, their grid and size, and where they lie."""

    images: int  # NumberOfImagesInMosaic: the slices actually acquired
    grid: int  # tiles per row and per column of the mosaic
    tile: tuple[int, int]  # rows, columns of one slice
    plane: PlaneGeometry
    first: np.ndarray  # ImagePositionPatient of the first unpacked slice (LPS, mm)
    step: np.ndarray  # from one unpacked slice to the next (LPS, mm)


def _refuse(header: DicomHeader, problem: str) -> InvalidVolumeError:
    """The one way a mosaic is refused: the file, that it is a mosaic, and what makes it unreadable."""
    return InvalidVolumeError(f"{header.label}: a Siemens mosaic that cannot be unpacked: {problem}")


def mosaic_layout(header: DicomHeader, warnings: list[str]) -> MosaicLayout:
    """The slices of a mosaic file and their geometry, from its CSA header and its DICOM geometry."""
    with library_errors(header.label, header.path, "is a Siemens mosaic whose CSA header cannot be read"):
        csa = csareader.get_csa_header(header.dataset, "image")
        images = one_integer(
            _csa_scalar(csa, "NumberOfImagesInMosaic"), "CSA NumberOfImagesInMosaic", header.label
        )
        protocol_slice = one_integer(
            _csa_scalar(csa, "ProtocolSliceNumber"), "CSA ProtocolSliceNumber", header.label
        )
    if csa is None:
        raise _refuse(
            header, "it has no Siemens CSA image header, so the number and layout of its slices are unknown"
        )
    if images is None or images < 1:
        raise _refuse(header, "its CSA header does not state NumberOfImagesInMosaic")
    if protocol_slice is not None and protocol_slice > 1:
        raise _refuse(
            header,
            f"its CSA ProtocolSliceNumber starts at {protocol_slice}, i.e. its slices are numbered in reverse, "
            "so their positions cannot be verified",
        )
    missing = [
        keyword
        for keyword, value in (
            ("ImageOrientationPatient", header.orientation),
            ("ImagePositionPatient", header.position),
            ("PixelSpacing", header.pixel_spacing),
        )
        if value is None
    ]
    if missing:
        raise _refuse(header, f"it has no {' or '.join(missing)}, so its slices cannot be placed")
    grid = int(np.ceil(np.sqrt(images)))
    if header.rows % grid or header.columns % grid:
        raise _refuse(
            header,
            f"its {header.rows}x{header.columns} image does not divide into the {grid}x{grid} grid of tiles "
            f"that {images} slices need",
        )
    assert header.orientation is not None and header.pixel_spacing is not None  # checked just above
    plane = PlaneGeometry(orientation=header.orientation, pixel_spacing=header.pixel_spacing)
    with library_errors(header.label, header.path, "is a Siemens mosaic whose geometry cannot be read"):
        wrapper = dicomwrappers.MosaicWrapper(header.dataset, csa, images)
        try:
            normal = np.asarray(wrapper.slice_normal, dtype=np.float64)
        except AssertionError:  # nibabel asserts that the CSA normal is parallel to the orientation's
            normal = None
        first = np.asarray(wrapper.image_position, dtype=np.float64)
    if (
        normal is None
        or normal.shape != (3,)
        or not np.isclose(abs(float(normal @ plane.normal)), 1.0, atol=1e-4)
    ):
        raise _refuse(
            header, "its CSA SliceNormalVector is not the normal of its ImageOrientationPatient plane"
        )
    if first.shape != (3,) or not np.all(np.isfinite(first)):
        raise _refuse(header, "the position of its first slice cannot be computed")
    gap = _gap(header, warnings)
    return MosaicLayout(
        images=images,
        grid=grid,
        tile=(header.rows // grid, header.columns // grid),
        plane=plane,
        first=first,
        step=normal * gap,
    )


def _csa_scalar(csa: dict[str, Any] | None, tag: str) -> Any:
    """The first value of a CSA header tag; None when the header, the tag or its values are absent."""
    if csa is None:
        return None
    items = csa.get("tags", {}).get(tag, {}).get("items")
    return items[0] if items else None


def _gap(header: DicomHeader, warnings: list[str]) -> float:
    """The distance between a mosaic's slices: SpacingBetweenSlices, else SliceThickness (with a warning)."""
    spacing = one_number(header.dataset.get("SpacingBetweenSlices"), "SpacingBetweenSlices", header.label)
    if spacing is not None and spacing > 0:
        return spacing
    if header.slice_gap is not None:
        warnings.append(
            f"The mosaic states no SpacingBetweenSlices: its slices were placed one SliceThickness "
            f"({header.slice_gap:g} mm) apart, which is too close if the acquisition left gaps between slices."
        )
        return header.slice_gap
    warnings.append(
        "The mosaic states no slice spacing (SpacingBetweenSlices or SliceThickness): 1 mm was used."
    )
    return 1.0


def unpack(mosaic: np.ndarray, layout: MosaicLayout) -> np.ndarray:
    """(images, tile rows, tile columns) from one (rows, columns) mosaic: tiles row by row, blanks dropped."""
    rows, columns = layout.tile
    tiles = mosaic.reshape(layout.grid, rows, layout.grid, columns).transpose(0, 2, 1, 3)
    return tiles.reshape(layout.grid * layout.grid, rows, columns)[: layout.images]


def _same_layout(a: MosaicLayout, b: MosaicLayout) -> bool:
    """Whether two mosaic files unpack to volumes with one geometry."""
    return (
        (a.images, a.grid, a.tile) == (b.images, b.grid, b.tile)
        and same_orientation(a.plane.orientation, b.plane.orientation)
        and np.allclose(a.plane.pixel_spacing, b.plane.pixel_spacing, atol=1e-4)
        and np.allclose(a.first, b.first, atol=_POSITION_TOLERANCE_MM)
        and np.allclose(a.step, b.step, atol=_POSITION_TOLERANCE_MM)
    )


def acquisition_order(headers: list[DicomHeader], name: str) -> list[int]:
    """Indices of the files in acquisition order: by AcquisitionNumber, else acquisition time, else
    InstanceNumber, whichever is present and distinct for every file; refused when none is."""
    if len(headers) == 1:
        return [0]
    keys: tuple[tuple[str, list[Any]], ...] = (
        ("AcquisitionNumber", [h.acquisition_number for h in headers]),
        ("AcquisitionDateTime", [h.acquisition_time or None for h in headers]),
        ("InstanceNumber", [h.instance_number for h in headers]),
    )
    for _keyword, values in keys:
        if all(v is not None for v in values) and len(set(values)) == len(values):
            return sorted(range(len(headers)), key=lambda i: values[i])
    raise InvalidVolumeError(
        f"{name}: the {len(headers)} mosaic files cannot be put in acquisition order: no AcquisitionNumber, "
        "acquisition time or InstanceNumber is present and different in every file"
    )


def read_mosaics(series: list[DicomHeader], fmt: str, limits: ReadLimits, name: str) -> Volume:
    """One mosaic file as a (Z, Y, X) volume, several as a (T, Z, Y, X) series in acquisition order."""
    warnings: list[str] = dropped_warning(series)
    headers = [series[i] for i in acquisition_order(series, name)]
    layouts = [mosaic_layout(h, warnings) for h in headers]
    first = layouts[0]
    for header, layout in zip(headers[1:], layouts[1:], strict=True):
        if not _same_layout(first, layout):
            raise InvalidVolumeError(
                f"{name}: the mosaic files do not share one geometry ({header.label} differs from "
                f"{headers[0].label} in its slices, tiles, orientation or position)"
            )
    check_voxel_count((len(headers), first.images, *first.tile), limits, name)
    data = np.empty((len(headers), first.images, *first.tile), dtype=np.float32)
    scales = []
    for t, header in enumerate(headers):
        stored = decode_frames(header)[0]
        with library_errors(header.label):
            slope, intercept = rescale(header.dataset, None, header.label)
        data[t] = unpack(stored, first) * slope + intercept
        scales.append((slope, intercept))
    volume_data = data if len(headers) > 1 else data[0]
    check_voxels(volume_data, name)
    source = DicomSource(
        format=fmt,
        datasets=tuple(h.dataset for h in headers),
        frame_order=(),
        rescale=tuple(scales),
        mosaic=True,
        warnings=tuple(dict.fromkeys(warnings)),
    )
    return Volume(
        data=volume_data, affine=affine_from_dicom(first.plane, first.first, first.step), source=source
    )
