"""What a DICOM volume remembers of its source, so a derived series can be written back."""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

from shared.volume import SourceMetadata


@dataclass(frozen=True, eq=False)
class DicomSource(SourceMetadata):
    """The headers (no pixel data) of the source series.

    `datasets` holds one header per volume slice in volume order, or the single header of a
    multi-frame file; then `frame_order[k]` is the file's frame index of volume slice k.
    `rescale[k]` is volume slice k's original (RescaleSlope, RescaleIntercept).
    """

    datasets: tuple[Dataset, ...]
    frame_order: tuple[int, ...]
    rescale: tuple[tuple[float, float], ...]

    @property
    def multiframe(self) -> bool:
        """Whether the source was one multi-frame file."""
        return bool(self.frame_order)
