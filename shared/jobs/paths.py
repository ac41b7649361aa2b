"""Where things live in the data directory, and safe resolution of the paths that travel in payloads.

Payloads carry paths relative to DATA_DIR, so the gateway and each worker may mount the data
directory at different places (as containers do).
"""

from __future__ import annotations

import re
from pathlib import Path

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
"""Job and model ids: letters, digits, '-' and '_' only, so an id can never name another path."""
_ID_RE = re.compile(ID_PATTERN)


def is_valid_id(value: str) -> bool:
    """Whether `value` may be used as a job or model id."""
    return bool(_ID_RE.match(value))


def jobs_root(data_dir: Path) -> Path:
    """Folder of every job's files."""
    return Path(data_dir) / "jobs"


def models_root(data_dir: Path) -> Path:
    """Folder of the model registry."""
    return Path(data_dir) / "models"


def cancelled_root(data_dir: Path) -> Path:
    """Folder of cancellation tombstones; kept outside jobs/ so removing a job's files keeps its tombstone."""
    return Path(data_dir) / "cancelled"


def data_path(data_dir: Path, relative: str) -> Path:
    """Resolve a payload path inside the data directory; refuse anything that points outside it."""
    root = Path(data_dir).resolve()
    path = (root / relative).resolve()
    if Path(relative).is_absolute() or not path.is_relative_to(root):
        raise ValueError(f"path {relative!r} is outside the data directory")
    return path


def relative_to_data(data_dir: Path, path: Path) -> str:
    """The payload form of a path inside the data directory."""
    return Path(path).resolve().relative_to(Path(data_dir).resolve()).as_posix()


QUALITY_NAME = "quality.json"
"""A denoising job's quality estimates (shared.quality.assessment), inside jobs/<id>/."""


def residual_name(result_name: str) -> str:
    """The file name of a denoising job's residual (input - result) beside its result `result<suffix>`."""
    folder, slash, name = result_name.rpartition("/")
    return f"{folder}{slash}residual{name.removeprefix('result')}"
