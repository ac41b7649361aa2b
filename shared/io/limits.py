"""Size limits every reader enforces, and the checks that apply them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.errors import TooLargeError
from shared.settings import Settings, get_settings


@dataclass(frozen=True)
class ReadLimits:
    """Hard limits on what a reader accepts, checked before pixels are decoded where the format allows."""

    max_file_bytes: int
    max_voxels: int
    max_zip_members: int
    max_zip_uncompressed_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ReadLimits:
        """The limits configured in `settings` (default: the process's `get_settings()`)."""
        settings = settings if settings is not None else get_settings()
        return cls(
            max_file_bytes=settings.MAX_FILE_BYTES,
            max_voxels=settings.MAX_VOXELS,
            max_zip_members=settings.MAX_ZIP_MEMBERS,
            max_zip_uncompressed_bytes=settings.MAX_ZIP_UNCOMPRESSED_BYTES,
        )


def check_file_size(path: Path, limits: ReadLimits, name: str) -> None:
    """Refuse a file larger than `limits.max_file_bytes`."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise TooLargeError(
            f"{name}: the file is {size} bytes, over the limit of {limits.max_file_bytes} bytes"
        )


def check_voxel_count(shape: tuple[int, ...], limits: ReadLimits, name: str) -> None:
    """Refuse a volume whose shape holds more than `limits.max_voxels` voxels."""
    voxels = 1
    for n in shape:
        voxels *= int(n)
    if voxels > limits.max_voxels:
        raise TooLargeError(
            f"{name}: the volume has {voxels} voxels (shape {tuple(int(n) for n in shape)}), "
            f"over the limit of {limits.max_voxels}"
        )


def library_detail(exc: BaseException, path: Path, name: str) -> str:
    """A library's error text with the stored file's path replaced by the name the caller knows."""
    return str(exc).replace(str(path), name)
