"""The model registry: `models/<id>/` folders, each with its weights and a `manifest.json`.

Who owns a model and whether it is shared lives beside it, in `models/.access/<id>.json`: the gateway writes
it when it accepts the training (the worker makes the folder later, and replaces it whole), and an admin
changes it to share the model. A model without one (registered before users existed, or by hand) has no
owner: only admins see it until one shares it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import uuid
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from shared.atomic import atomic_write_text
from shared.errors import ConfigError, FetalDenoiseError, InvalidModelError, ModelNotFoundError
from shared.jobs.paths import is_valid_id, models_root
from shared.jobs.store import utcnow
from shared.manifest import MANIFEST_NAME, ModelManifest, read_manifest
from shared.methods import MethodName
from shared.models.builtin import PRIOR_DIR, PRIOR_ID

logger = logging.getLogger(__name__)


class ModelEntry(BaseModel):
    """A registered model: its id and its manifest."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Registry id; the folder name under models/.")
    manifest: ModelManifest = Field(description="What the model is and how it was trained.")


class ModelAccess(BaseModel):
    """Who may see and use a model."""

    model_config = ConfigDict(extra="forbid")

    owner: str | None = Field(default=None, description="The user who trained it; none: admins' only.")
    shared: bool = Field(default=False, description="Listed and usable by every user (set by an admin).")


ACCESS_FOLDER = ".access"
"""Under models/; its leading dot keeps it out of the registry's listing (not a valid model id)."""


def new_model_id(method: MethodName) -> str:
    """A fresh, sortable model id such as 'n2n-20250101-120000-1a2b3c'."""
    return f"{method}-{utcnow():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def model_dir(data_dir: Path, model_id: str) -> Path:
    """The folder of a model id (it may not exist); an id that could name another path is not found.
    `prior` is the model shipped in the package (shared.models.builtin), usable like a registered one."""
    if model_id == PRIOR_ID:
        return PRIOR_DIR
    if not is_valid_id(model_id):
        raise ModelNotFoundError(f"no model with id {model_id!r}")
    return models_root(data_dir) / model_id


def get_model(
    data_dir: Path, model_id: str, expected_method: MethodName | None = None, verify: bool = False
) -> ModelEntry:
    """A registered model's manifest; checksums are verified only when `verify` (workers do, on load)."""
    folder = model_dir(data_dir, model_id)
    if not (folder / MANIFEST_NAME).is_file():
        raise ModelNotFoundError(f"no model with id {model_id!r}")
    try:
        manifest = read_manifest(folder, expected_method=expected_method, verify=verify)
    except (ModelNotFoundError, InvalidModelError) as exc:
        raise model_error(exc, data_dir, model_id) from exc
    return ModelEntry(id=model_id, manifest=manifest)


def model_error(exc: FetalDenoiseError, data_dir: Path, model_id: str) -> FetalDenoiseError:
    """The error a user sees for a registered model: it names the model's id, never its folder on the server
    (read_manifest and the method loaders name the folder, which is right for the command line's own paths).

    The original, path and all, goes to the server's log.
    """
    logger.warning("model %s: %s: %s", model_id, type(exc).__name__, exc)
    if isinstance(exc, ModelNotFoundError):
        return ModelNotFoundError(f"no model with id {model_id!r} (it was deleted)")
    folder = model_dir(data_dir, model_id)
    message = str(exc)
    for form in sorted({str(folder), str(folder.resolve()), str(folder.absolute())}, key=len, reverse=True):
        # The folder, or a file in it (its manifest, a weights file), as read_manifest and the loaders name them.
        message = re.sub(
            r"(?<![\w./~-])" + re.escape(form) + r"(/[^\s:'\"]*)?", f"model {model_id!r}", message
        )
    return type(exc)(message)


def list_models(data_dir: Path) -> list[ModelEntry]:
    """Every registered model with a readable manifest, newest first."""
    root = models_root(data_dir)
    entries: list[ModelEntry] = []
    if root.is_dir():
        for folder in root.iterdir():
            if not folder.is_dir() or not is_valid_id(folder.name):
                continue
            try:  # read here, not by get_model: a broken model is skipped, not logged at every listing
                entries.append(ModelEntry(id=folder.name, manifest=read_manifest(folder, verify=False)))
            except FetalDenoiseError:
                continue  # a model being written, or a broken one: not listed
    return sorted(entries, key=lambda entry: entry.manifest.created, reverse=True)


def register_model(data_dir: Path, model_id: str, trained_dir: Path) -> Path:
    """Move a finished model folder into the registry under `model_id` (one rename: all or nothing)."""
    read_manifest(trained_dir)  # refuse to register something that would not load
    final = model_dir(data_dir, model_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        delete_model(data_dir, model_id)
    os.replace(trained_dir, final)
    return final


def access_path(data_dir: Path, model_id: str) -> Path:
    """The file of a model's owner and shared flag."""
    return model_dir(data_dir, model_id).parent / ACCESS_FOLDER / f"{model_id}.json"


def read_access(data_dir: Path, model_id: str) -> ModelAccess:
    """A model's owner and shared flag; a missing or unreadable file gives no owner (admins only). The
    shipped prior is everyone's."""
    if model_id == PRIOR_ID:
        return ModelAccess(shared=True)
    try:
        return ModelAccess.model_validate_json(access_path(data_dir, model_id).read_bytes())
    except (OSError, ValueError):
        return ModelAccess()


def write_access(data_dir: Path, model_id: str, access: ModelAccess) -> None:
    """Record a model's owner and shared flag (atomically)."""
    atomic_write_text(access_path(data_dir, model_id), access.model_dump_json())


def delete_model(data_dir: Path, model_id: str) -> None:
    """Remove a model from the registry, with its access record (never the shipped prior)."""
    if model_id == PRIOR_ID:
        raise ConfigError(
            "the shipped prior is part of the package, not of the registry; it cannot be deleted"
        )
    folder = model_dir(data_dir, model_id)
    if not folder.is_dir():
        raise ModelNotFoundError(f"no model with id {model_id!r}")
    with contextlib.suppress(FileNotFoundError):
        access_path(data_dir, model_id).unlink()
    doomed = folder.with_name(f".{model_id}.deleting.{uuid.uuid4().hex[:8]}")
    os.replace(folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
