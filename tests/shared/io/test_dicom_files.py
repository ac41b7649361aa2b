"""Single DICOM files: pydicom's real MR test files, their compressed variants, multi-frame objects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from io_helpers import pydicom_file
from pydicom.pixels import get_decoder
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless

from shared.errors import UnreadableVolumeError
from shared.io import read_volume, write_volume
from shared.volume import Volume

MR_SMALL_VARIANTS = ["MR_small.dcm", "MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm"]
EMRI_VARIANTS = ["emri_small.dcm", "emri_small_RLE.dcm", "emri_small_big_endian.dcm"]


def required(name: str) -> Path:
    """A pydicom test file; the test is skipped, saying why, only when the file is not installed."""
    path = pydicom_file(name)
    if path is None:
        pytest.skip(f"{name} is not installed (it ships with the optional pydicom-data package)")
    return path


@pytest.mark.parametrize("name", MR_SMALL_VARIANTS)
def test_mr_small_single_slice(name: str):
    """pydicom's 64x64 T2 slice (plain, RLE, big-endian, implicit VR) reads as one slice, LPS -> RAS."""
    volume = read_volume(required(name))
    reference = pydicom.dcmread(required("MR_small.dcm")).pixel_array
    assert volume.shape == (1, 64, 64)
    assert np.array_equal(volume.data[0], reference.astype(np.float32))
    # IOP [1,0,0,0,1,0], IPP [-83.9063, -91.2, 6.6406], PixelSpacing 0.3125, SliceThickness 0.8.
    expected = np.array([[-0.3125, 0, 0, 83.9063], [0, -0.3125, 0, 91.2], [0, 0, 0.8, 6.6406], [0, 0, 0, 1]])
    np.testing.assert_allclose(volume.affine, expected, atol=1e-6)
    assert volume.source_format == "dicom"


def test_jpeg2000_reads_when_a_decoder_is_installed_else_says_so():
    """JPEG 2000 decodes to the same slice with an installed plugin, else names the transfer syntax."""
    path = required("MR_small_jp2klossless.dcm")
    if get_decoder(JPEG2000Lossless).is_available:
        reference = read_volume(required("MR_small.dcm"))
        assert np.array_equal(read_volume(path).data, reference.data)
    else:
        with pytest.raises(UnreadableVolumeError) as caught:
            read_volume(path)
        assert str(caught.value) == (
            f"{path.name}: transfer syntax 'JPEG 2000 Image Compression (Lossless Only)' "
            f"({JPEG2000Lossless}) cannot be decoded: no decoder for it is installed"
        )


def test_a_transfer_syntax_without_decoder_is_named():
    """JPEG-LS without a decoder plugin installed: a clear error naming the transfer syntax."""
    if get_decoder(JPEGLSLossless).is_available:
        pytest.skip("a JPEG-LS decoder is installed here, so the missing-decoder error cannot occur")
    path = required("MR_small_jpeg_ls_lossless.dcm")
    with pytest.raises(UnreadableVolumeError) as caught:
        read_volume(path, name="scan.dcm")
    assert str(caught.value) == (
        f"scan.dcm: transfer syntax 'JPEG-LS Lossless Image Compression' ({JPEGLSLossless}) "
        "cannot be decoded: no decoder for it is installed"
    )


def test_truncated_pixel_data_is_unreadable():
    """pydicom's MR_truncated.dcm has a header but too few pixel bytes."""
    with pytest.raises(UnreadableVolumeError) as caught:
        read_volume(required("MR_truncated.dcm"))
    assert str(caught.value).startswith("MR_truncated.dcm: the pixel data cannot be decoded (")


@pytest.mark.parametrize("name", EMRI_VARIANTS)
def test_pydicom_enhanced_mr_multiframe(name: str):
    """emri_small.dcm (10x64x64, no per-frame geometry) and its RLE / big-endian variants all read."""
    volume = read_volume(required(name))
    reference = read_volume(required("emri_small.dcm"))
    assert volume.shape == (10, 64, 64)
    assert np.array_equal(volume.data, reference.data)
    assert np.all(np.isfinite(volume.affine))


def test_multiframe_without_per_frame_geometry(enhanced_mr_path: Path):
    """Frames in file order, shared rescale applied, geometry from the shared pixel measures."""
    volume = read_volume(enhanced_mr_path)
    stored = pydicom.dcmread(enhanced_mr_path).pixel_array
    assert volume.shape == (10, 64, 64)
    assert np.array_equal(volume.data, stored * 0.5 + 10)
    # No orientation or position: identity directions (LPS -> RAS), PixelSpacing (0.5 rows, 0.75 columns).
    expected = np.diag([-0.75, -0.5, 2.0, 1.0])
    np.testing.assert_allclose(volume.affine, expected)


def test_multiframe_with_per_frame_positions(tmp_path: Path, series_volume: Volume):
    """A multi-frame file whose frames are stored out of order is read in position order."""
    path = write_volume(series_volume, tmp_path / "multi.dcm")
    ds = pydicom.dcmread(path)
    order = np.random.default_rng(0).permutation(ds.NumberOfFrames)
    frames = ds.pixel_array[order]
    ds.PerFrameFunctionalGroupsSequence = [ds.PerFrameFunctionalGroupsSequence[i] for i in order]
    ds.set_pixel_data(frames, "MONOCHROME2", 16, generate_instance_uid=False)
    ds.save_as(path, enforce_file_format=True)

    volume = read_volume(path)
    np.testing.assert_allclose(volume.affine, series_volume.affine, atol=1e-4)
    slope = float(ds.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence[0].RescaleSlope)
    assert np.abs(volume.data - series_volume.data).max() <= slope / 2 + 1e-6


NO_ORIENTATION = (
    "The DICOM images have no ImageOrientationPatient: they were read as axial slices (identity orientation), "
    "which may not be their true orientation."
)
NO_SPACING = "The DICOM images have no PixelSpacing: their pixels were read as 1 x 1 mm."
NO_POSITION = "The DICOM image has no ImagePositionPatient: the volume was placed at the scanner's origin."


def test_a_slice_without_geometry_reads_with_warnings(tmp_path: Path):
    """MR_small without orientation, position and pixel spacing still reads, and its source says, one plain
    sentence each, what was assumed: identity orientation, 1 mm pixels, the origin."""
    ds = pydicom.dcmread(required("MR_small.dcm"))
    for keyword in ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing"):
        delattr(ds, keyword)
    path = tmp_path / "bare.dcm"
    ds.save_as(path, enforce_file_format=True)
    volume = read_volume(path)
    assert volume.source is not None and volume.source.warnings == (NO_ORIENTATION, NO_SPACING, NO_POSITION)
    np.testing.assert_allclose(volume.affine, np.diag([-1.0, -1.0, 0.8, 1.0]))  # LPS identity, SliceThickness


def test_a_slice_with_geometry_has_no_warning():
    """A complete header gives no warning."""
    volume = read_volume(required("MR_small.dcm"))
    assert volume.source is not None and volume.source.warnings == ()


def test_enhanced_mr_without_geometry_says_so():
    """emri_small.dcm has no orientation, pixel spacing or position anywhere: three warnings."""
    volume = read_volume(required("emri_small.dcm"))
    assert volume.source is not None and volume.source.warnings == (NO_ORIENTATION, NO_SPACING, NO_POSITION)
