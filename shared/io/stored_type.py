"""Keep an input's on-disk data type in a NIfTI output (`write_volume(..., keep_dtype=True)`).

The rule: values are stored in the input's type through the input's own scaling, stored = (value - inter) /
slope, rounded half to even (numpy's rint: 2.5 -> 2, 3.5 -> 4) and clipped to the type's range (int16:
-32768..32767, uint16: 0..65535, ...). The scaling is the NIfTI input's scl_slope / scl_inter (1 and 0 when
it had none), or the DICOM input's RescaleSlope / RescaleIntercept when every slice shares one; the output
header states it, so every reader recovers value = stored * slope + inter, within half a slope of the
denoised value. A floating-point input type is kept as it is, without scaling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.errors import ConfigError, InvalidVolumeError
from shared.io.dicom_source import DicomSource
from shared.io.nifti_source import NiftiSource
from shared.volume import Volume


@dataclass(frozen=True)
class StoredType:
    """A data type and the scaling that maps its stored values to real ones: real = stored * slope + inter."""

    dtype: np.dtype
    slope: float
    inter: float

    def store(self, values: np.ndarray) -> np.ndarray:
        """`values` in this type: scaled, rounded half to even and clipped to the type's range (integers)."""
        if self.dtype.kind == "f":
            return values.astype(self.dtype)
        info = np.iinfo(self.dtype)
        stored = np.rint((values.astype(np.float64) - self.inter) / self.slope)
        return np.clip(stored, info.min, info.max).astype(self.dtype)


def input_stored_type(volume: Volume, name: str) -> StoredType:
    """The on-disk type and scaling of the file the volume was read from."""
    source = volume.source
    if isinstance(source, NiftiSource):
        if source.dtype.kind == "f":
            return StoredType(dtype=source.dtype, slope=1.0, inter=0.0)
        return StoredType(dtype=source.dtype, slope=source.slope, inter=source.inter)
    if isinstance(source, DicomSource) and source.datasets:
        header = source.datasets[0]
        dtype = np.dtype(
            f"{'i' if int(header.get('PixelRepresentation', 0)) else 'u'}{int(header.BitsAllocated) // 8}"
        )
        if len(set(source.rescale)) != 1:
            raise InvalidVolumeError(
                f"{name}: the DICOM input's slices have {len(set(source.rescale))} different rescale slopes or "
                "intercepts, which one NIfTI scaling cannot keep; write it without keeping the data type (float32)"
            )
        slope, inter = source.rescale[0]
        return StoredType(dtype=dtype.newbyteorder("<"), slope=slope, inter=inter)
    raise ConfigError(
        f"{name}: keeping the data type needs an input read from NIfTI or DICOM; "
        f"this volume came from {volume.source_format or 'memory'}, so write it without keeping the type (float32)"
    )
