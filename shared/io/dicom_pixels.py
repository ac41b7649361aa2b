"""DICOM pixel data: decoding (with a clear error when no decoder is installed) and encoding back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.uid import UID
from pydicom.valuerep import format_number_as_ds

from shared.errors import InvalidVolumeError, UnreadableVolumeError
from shared.io.dicom_headers import DicomHeader, read_full
from shared.io.dicom_values import library_errors

_UINT16_MAX = 65535


def check_decodable(transfer_syntax: UID, name: str) -> None:
    """Refuse, before reading any pixels, a transfer syntax no installed plugin can decode."""
    try:
        decoder = get_decoder(transfer_syntax)
    except NotImplementedError as exc:
        raise UnreadableVolumeError(
            f"{name}: transfer syntax {transfer_syntax} ({transfer_syntax.name}) is not supported"
        ) from exc
    if not decoder.is_available:
        raise UnreadableVolumeError(
            f"{name}: transfer syntax '{transfer_syntax.name}' ({transfer_syntax}) cannot be decoded: "
            "no decoder for it is installed"
        )


def check_image_pixels(header: DicomHeader) -> None:
    """Refuse what is not one grey value per pixel (colour, palette)."""
    if header.samples_per_pixel != 1 or not header.photometric.startswith("MONOCHROME"):
        raise InvalidVolumeError(
            f"{header.label}: a {header.photometric} image with {header.samples_per_pixel} sample(s) per pixel; "
            "only greyscale (MONOCHROME) images can be denoised"
        )


def decode_frames(header: DicomHeader) -> np.ndarray:
    """The stored values of a file whose header was parsed, as (frames, rows, columns), before any rescale.

    What the decoder returns must have the shape the header announces; anything else is refused rather
    than reshaped.
    """
    check_decodable(header.transfer_syntax, header.label)
    ds = read_full(header)
    with library_errors(header.label, header.path, "the pixel data cannot be decoded"):
        array = np.asarray(ds.pixel_array)
    expected = (header.frames, header.rows, header.columns)
    if array.ndim < 2 or array.size != int(np.prod(expected)) or array.shape[-2:] != expected[1:]:
        raise UnreadableVolumeError(
            f"{header.label}: the pixel data decodes to shape {tuple(array.shape)}, "
            f"the header announces {header.frames} frame(s) of {header.rows}x{header.columns}"
        )
    return array.reshape(expected)


def ds_number(value: float) -> float:
    """`value` as it reads back after being written to a 16-character DICOM decimal string."""
    return float(format_number_as_ds(float(value)))


def stored_dtype(bits_allocated: int, pixel_representation: int) -> np.dtype:
    """The little-endian integer dtype of stored pixel values."""
    return np.dtype(f"<{'i' if pixel_representation else 'u'}{bits_allocated // 8}")


def to_stored(
    values: np.ndarray, slope: float, intercept: float, bits_stored: int, dtype: np.dtype
) -> np.ndarray:
    """Invert the rescale: round and clip real values into the stored integer range."""
    if dtype.kind == "i":
        low, high = -(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1
    else:
        low, high = 0, 2**bits_stored - 1
    stored = np.rint((values.astype(np.float64) - intercept) / slope)
    return np.clip(stored, low, high).astype(dtype)


@dataclass(frozen=True)
class Encoding:
    """How new 16-bit pixels store real values: real = stored * slope + intercept."""

    slope: float
    intercept: float
    signed: bool

    @property
    def dtype(self) -> np.dtype:
        """int16 or uint16, little-endian."""
        return stored_dtype(16, int(self.signed))


def choose_encoding(data: np.ndarray) -> Encoding:
    """Exact int16/uint16 when the values are integers that fit; else uint16 spanning [min, max]."""
    low, high = float(data.min()), float(data.max())
    if np.array_equal(data, np.rint(data)):
        if low >= 0 and high <= _UINT16_MAX:
            return Encoding(slope=1.0, intercept=0.0, signed=False)
        if low >= -32768 and high <= 32767:
            return Encoding(slope=1.0, intercept=0.0, signed=True)
    slope = ds_number((high - low) / _UINT16_MAX) if high > low else 1.0
    return Encoding(slope=slope, intercept=ds_number(low), signed=False)


def set_pixels(ds: Dataset, stored: np.ndarray, bits_stored: int, multiframe: bool) -> None:
    """Set the pixel data and every Image Pixel tag that describes it, together.

    `stored` is (frames, rows, columns) of an integer dtype; a multi-frame object keeps Number of
    Frames even for one frame, a single-frame one has none.
    """
    frames, rows, columns = stored.shape
    ds.SamplesPerPixel = 1
    if not str(ds.get("PhotometricInterpretation", "")).startswith("MONOCHROME"):
        ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated = stored.dtype.itemsize * 8
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if stored.dtype.kind == "i" else 0
    for keyword in ("PlanarConfiguration", "SmallestImagePixelValue", "LargestImagePixelValue"):
        if keyword in ds:
            del ds[keyword]
    if multiframe:
        ds.NumberOfFrames = frames
    elif "NumberOfFrames" in ds:
        del ds.NumberOfFrames
    content = np.ascontiguousarray(stored, dtype=stored.dtype.newbyteorder("<")).tobytes()
    ds.PixelData = content + b"\x00" * (len(content) % 2)
    ds["PixelData"].VR = "OB" if ds.BitsAllocated <= 8 else "OW"


def to_source_dtype(values: np.ndarray, rescale: tuple[float, float], header: Dataset) -> np.ndarray:
    """Real values back in a source header's stored dtype and range, via its original rescale."""
    dtype = stored_dtype(int(header.BitsAllocated), int(header.PixelRepresentation))
    slope, intercept = rescale
    return to_stored(values, slope, intercept, int(header.BitsStored), dtype)
