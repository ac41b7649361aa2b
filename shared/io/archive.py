"""Safe zip handling: limits checked from the central directory before anything is extracted."""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from shared.atomic import atomic_path
from shared.disk import full_detail, is_disk_full
from shared.errors import StorageFullError, UnreadableVolumeError, UnsafeArchiveError
from shared.io.limits import ReadLimits, library_detail

_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")

MAX_MEMBER_RATIO = 100
"""Largest compression ratio (declared size over compressed size) a zip member over RATIO_FLOOR_BYTES may
declare, and the whole archive too (its members' declared sizes together over the zip's own size). Deflate reaches about 1000:1 on runs of one byte; images come nowhere near 100:1. Measured with
zlib's default level: pydicom's real MR and CT files deflate 1.4-1.6:1 (a scan's background is noise, not
zeros), the noise-free MNI152 template as one 17 MB uint16 volume 8:1, and even a noise-free 512x512x100
volume with a 100x100 object in zero padding 44:1. Only a frame that is over 99 % exact zeros passes 100:1.
So a member past 100:1 is padding built to cost the reader disk. Judging members alone is not enough: a
236 KB zip of many small members, each under the floor, extracted 210 MB (894:1). So the archive as a whole is
held to the same ratio, and a zip can make the reader write at most 100 times what was uploaded (or
RATIO_FLOOR_BYTES, whichever is more; under MAX_ZIP_UNCOMPRESSED_BYTES in all)."""
RATIO_FLOOR_BYTES = 1 << 20
"""Members, and whole archives, that expand to at most 1 MiB are never judged by their ratio: their cost is
bounded anyway, and a small blank slice or text file may compress very well."""


def _safe_parts(member: str, name: str) -> tuple[str, ...]:
    """The path parts of a member name, refusing absolute paths and `..` (zip slip)."""
    normalised = member.replace("\\", "/")
    parts = tuple(p for p in normalised.split("/") if p not in ("", "."))
    if normalised.startswith("/") or _DRIVE.match(normalised) or ".." in parts:
        raise UnsafeArchiveError(f"{name}: unsafe member path '{member}' (absolute or containing '..')")
    return parts


def check_directory(infos: list[zipfile.ZipInfo], archive_bytes: int, limits: ReadLimits, name: str) -> None:
    """Refuse, from the central directory alone, too many members, too many bytes, unsafe paths, or an
    archive or a member that declares an absurd compression ratio (MAX_MEMBER_RATIO).

    `archive_bytes` is the zip's own size. Used by the reader before it extracts, and by the gateway before
    it looks into any member.
    """
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
        _check_ratio(info, name)  # first: a single padded member is named
    if total > RATIO_FLOOR_BYTES and total > MAX_MEMBER_RATIO * archive_bytes:
        raise UnsafeArchiveError(
            f"{name}: the archive's {len(infos)} members expand to {total} bytes from a {archive_bytes}-byte "
            f"zip ({total / max(archive_bytes, 1):.0f}:1), over the limit of {MAX_MEMBER_RATIO}:1; "
            "no medical image compresses that well"
        )


def _check_ratio(info: zipfile.ZipInfo, name: str) -> None:
    """Refuse a member whose declared size is over MAX_MEMBER_RATIO times its compressed size (a bomb)."""
    if info.file_size <= RATIO_FLOOR_BYTES or info.file_size <= MAX_MEMBER_RATIO * info.compress_size:
        return
    ratio = info.file_size / max(info.compress_size, 1)
    raise UnsafeArchiveError(
        f"{name}: member '{info.filename}' declares {info.file_size} bytes compressed into {info.compress_size} "
        f"({ratio:.0f}:1), over the limit of {MAX_MEMBER_RATIO}:1 for members over {RATIO_FLOOR_BYTES} bytes; "
        "no medical image compresses that well"
    )


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
            check_directory(infos, path.stat().st_size, limits, name)
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
        if is_disk_full(exc):  # no room to extract to: the server's problem, not an unreadable archive
            raise StorageFullError(f"{name}: {full_detail()}") from exc
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
