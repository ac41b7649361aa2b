"""What a DICOM volume remembers of its source, so a derived series can be written back."""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

from shared.volume import SourceMetadata


@dataclass(frozen=True, eq=False)
class DicomSource(SourceMetadata):
    """The headers (no pixel data) of the source series, in one of three layouts.

    - single-frame slices: `datasets` holds one header per slice, volume by volume (T x Z of them for a
      series of T volumes), each in slice order; `rescale[k]` is that slice's (slope, intercept);
    - one multi-frame file: `datasets` is its single header and `frame_order[k]` the file's frame index
      of volume slice k (one rescale per slice);
    - Siemens mosaics (`mosaic`): one header per volume (one file each), in acquisition order, and one
      rescale per volume.
    """

    datasets: tuple[Dataset, ...]
    frame_order: tuple[int, ...]
    rescale: tuple[tuple[float, float], ...]
    mosaic: bool = False

    @property
    def multiframe(self) -> bool:
        """Whether the source was one multi-frame file."""
        return bool(self.frame_order)
