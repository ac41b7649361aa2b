"""Safe zip handling: limits checked from the central directory before anything is extracted."""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from shared.atomic import atomic_path
from shared.errors import UnreadableVolumeError, UnsafeArchiveError
from shared.io.limits import ReadLimits, library_detail

_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")


def _safe_parts(member: str, name: str) -> tuple[str, ...]:
    """The path parts of a member name, refusing absolute paths and `..` (zip slip)."""
    normalised = member.replace("\\", "/")
    parts = tuple(p for p in normalised.split("/") if p not in ("", "."))
    if normalised.startswith("/") or _DRIVE.match(normalised) or ".." in parts:
        raise UnsafeArchiveError(f"{name}: unsafe member path '{member}' (absolute or containing '..')")
    return parts


def _check_directory(infos: list[zipfile.ZipInfo], limits: ReadLimits, name: str) -> None:
    """Refuse, from the central directory alone, too many members, too many bytes, or unsafe paths."""
    if len(infos) > limits.max_zip_members:
        raise UnsafeArchiveError(
            f"{name}: the archive holds {len(infos)} members, over the limit of {limits.max_zip_members}"
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_zip_uncompressed_bytes:
        raise UnsafeArchiveError(
            f"{name}: the archive expands to {total} bytes, "
            f"over the limit of {limits.max_zip_uncompressed_bytes} bytes"
        )
    for info in infos:
        _safe_parts(info.filename, name)


def _copy_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int, name: str
) -> int:
    """Copy one member to `target`, stopping once it exceeds its declared size or the byte budget."""
    written = 0
    with archive.open(info) as src, target.open("wb") as dst:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > info.file_size or written > budget:
                raise UnsafeArchiveError(
                    f"{name}: member '{info.filename}' expands beyond its declared size or the archive limit"
                )
            dst.write(chunk)
    return written


def extract_zip(path: Path, dest: Path, limits: ReadLimits, name: str) -> list[tuple[str, Path]]:
    """Extract the regular files of a zip into `dest` (which the caller cleans up).

    Returns (member name, extracted path) pairs. Every limit is checked from the central directory
    before the first byte is written, and enforced again while copying in case the headers lie.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _check_directory(infos, limits, name)
            budget = limits.max_zip_uncompressed_bytes
            extracted: list[tuple[str, Path]] = []
            for index, info in enumerate(infos):
                if info.is_dir():
                    continue
                parts = _safe_parts(info.filename, name)
                if not parts:
                    continue
                # Members are numbered so two names that differ only in case or separators stay apart.
                target = dest / str(index) / PurePosixPath(*parts).name
                target.parent.mkdir()
                budget -= _copy_member(archive, info, target, budget, name)
                extracted.append((info.filename, target))
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):
            raise UnsafeArchiveError(
                f"{name}: a member does not match its declared size or checksum ({exc})"
            ) from exc
        raise UnreadableVolumeError(
            f"{name}: not a readable zip archive ({library_detail(exc, path, name)})"
        ) from exc
    except (OSError, EOFError, NotImplementedError, RuntimeError, zlib.error) as exc:
        raise UnreadableVolumeError(
            f"{name}: not a readable zip archive ({library_detail(exc, path, name)})"
        ) from exc
    return extracted


def write_zip(members: Iterable[tuple[str, bytes]], path: Path) -> Path:
    """Write (name, content) pairs into a deflated zip at `path`, atomically."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, content in members:
            archive.writestr(member, content)
    return path
