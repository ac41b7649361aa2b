"""Uploaded files: streamed into a job's folder in chunks, under a size limit, then validated as volumes."""

from __future__ import annotations

import contextlib
import os
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from fastapi import UploadFile

from services.gateway.admission import check_cost
from shared.atomic import atomic_path
from shared.disk import check_room, full_detail, is_disk_full
from shared.errors import InputError, StorageFullError, TooLargeError
from shared.intensity import IntensityMapping
from shared.io import ReadLimits, read_volume
from shared.io.formats import canonical_suffix, format_of_name
from shared.jobs.paths import relative_to_data
from shared.queue.payloads import VolumeInput
from shared.settings import Settings
from shared.volume import Volume

CHUNK_BYTES = 1 << 20
MAX_NAME_CHARS = 255
"""Longest client file name accepted: what common file systems allow for one name (it is stored in the job
record and quoted in messages, never used as a path: files are stored under their role's name)."""
_FIELDS = {"input": "file", "second": "file2"}
_LIST_FIELDS = {"input": "files", "second": "files2"}


def form_field(role: str) -> str:
    """The form field a stored role came from (input -> file, second-2 -> files2[2]), for messages."""
    base, _, index = role.partition("-")
    if index:
        return f"{_LIST_FIELDS.get(base, base)}[{index}]"
    return _FIELDS.get(base, base)


def client_name(upload: UploadFile, role: str) -> str:
    """The uploaded file's own name without any directory part (the role if it has none).

    Refused (422) when longer than MAX_NAME_CHARS or holding control characters (a NUL, a line break), which
    no real file name has and which would corrupt the messages and the records it is written into.
    """
    name = PurePosixPath((upload.filename or "").replace("\\", "/")).name
    if len(name) > MAX_NAME_CHARS:
        raise InputError(
            f"{form_field(role)}: the file name is {len(name)} characters long, over the limit of {MAX_NAME_CHARS}"
        )
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise InputError(f"{form_field(role)}: the file name holds control characters; rename the file")
    return name or role


def upload_format(name: str) -> str:
    """The format a file name announces; an unsupported one is refused before a byte is stored.

    Judged by the name alone: the client's name never touches the file system.
    """
    return format_of_name(name)


def save_upload(upload: UploadFile, dest: Path, limit: int, name: str, reserve: int = 0) -> int:
    """Copy an upload to `dest` in chunks (never whole in memory), refusing it past `limit` bytes, and before a
    byte is written when it would leave less than `reserve` bytes free on the disk (507).

    A disk that fills up while copying is a StorageFullError too; the partial copy is removed (atomic_path).
    """
    size = upload.file.seek(0, os.SEEK_END)
    upload.file.seek(0)
    if size > limit:
        raise TooLargeError(f"{name}: the upload is over the limit of {limit} bytes (MAX_FILE_BYTES)")
    check_room(dest.parent, size, reserve, name)
    written = 0
    try:
        with atomic_path(dest) as tmp, tmp.open("wb") as out:
            while chunk := upload.file.read(CHUNK_BYTES):
                written += len(chunk)
                if written > limit:
                    raise TooLargeError(
                        f"{name}: the upload is over the limit of {limit} bytes (MAX_FILE_BYTES)"
                    )
                out.write(chunk)
    except OSError as exc:
        if is_disk_full(exc):
            raise StorageFullError(f"{name}: {full_detail()}") from exc
        raise
    return written


def store_volume(
    upload: UploadFile, folder: Path, role: str, settings: Settings, series_uid: str | None = None
) -> tuple[VolumeInput, Volume, str]:
    """Store an upload as `folder/<role><suffix>` and read it back as a volume (any problem: a 4xx error).

    Returns the payload reference, the volume, and the client's file name. The reference names the file by
    its form field (`file`, `files[2]`), not by the client's name, which may carry a patient's: payloads
    travel through the broker, its result store and the workers' logs. The client's name stays in the
    job's record, shown only in the job's own view, and in this request's own answers.
    """
    name = client_name(upload, role)
    fmt = upload_format(name)
    dest = folder / f"{role}{canonical_suffix(name, fmt)}"
    save_upload(upload, dest, settings.MAX_FILE_BYTES, name, reserve=settings.MIN_FREE_DISK_BYTES)
    check_cost(dest, fmt, settings, name)
    with read_slot(settings):
        volume = read_volume(
            dest, limits=ReadLimits.from_settings(settings), series_uid=series_uid, name=name
        )
        IntensityMapping.robust(
            volume.data, name
        )  # a constant volume has no range to normalise: refuse it now
    ref = VolumeInput(
        path=relative_to_data(Path(settings.DATA_DIR), dest), name=form_field(role), series_uid=series_uid
    )
    return ref, volume, name


_READ_SLOTS: dict[int, threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


@contextlib.contextmanager
def read_slot(settings: Settings) -> Iterator[None]:
    """Hold one of MAX_CONCURRENT_READS slots while a volume is decoded: with many uploads at once the
    others wait, so the gateway's memory stays bounded (and /health, which needs no slot, answers)."""
    with _SLOTS_LOCK:
        slots = _READ_SLOTS.setdefault(
            settings.MAX_CONCURRENT_READS, threading.BoundedSemaphore(settings.MAX_CONCURRENT_READS)
        )
    with slots:
        yield


def result_name(input_name: str, fmt: str) -> str:
    """The result's file name: the input's format (a DICOM series comes back as a derived series in a .zip)."""
    return f"result{canonical_suffix(input_name, fmt)}"
