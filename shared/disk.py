"""Room on the data directory's disk: how much is free, whether an error means none is left, and the check
made before storing an upload."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from shared.errors import StorageFullError

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
"""A full file system, or the user's quota on it: either way nothing more can be written."""


def is_disk_full(error: BaseException | None) -> bool:
    """Whether `error`, or an error it was raised from, is an OSError saying the disk (or quota) is full.

    Libraries wrap what they catch (FastAPI turns any error while spooling a form into a 400), so the chain of
    causes is followed.
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def free_bytes(folder: Path) -> int:
    """Bytes free for this process on `folder`'s file system (the nearest existing parent's)."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def full_detail() -> str:
    """The message of a write that found the disk full (never the server's path)."""
    return "the server's disk is full: nothing was stored; retry later or ask its operator to free space"


def check_room(folder: Path, needed: int, reserve: int, what: str) -> None:
    """Refuse (StorageFullError, 507) storing `needed` bytes on `folder`'s disk when that would leave less than
    `reserve` (MIN_FREE_DISK_BYTES) free, before a byte is written."""
    free = free_bytes(folder)
    if free - needed < reserve:
        raise StorageFullError(
            f"{what}: the server has {free} bytes free, and storing {needed} bytes would leave less than the "
            f"{reserve} it keeps for jobs (MIN_FREE_DISK_BYTES); nothing was stored, retry later"
        )
