"""The model registry: `models/<id>/` folders, each with its weights and a `manifest.json`."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigError, FetalDenoiseError, ModelNotFoundError
from shared.jobs.paths import is_valid_id, models_root
from shared.jobs.store import utcnow
from shared.manifest import MANIFEST_NAME, ModelManifest, read_manifest
from shared.methods import MethodName
from shared.models.builtin import PRIOR_DIR, PRIOR_ID


class ModelEntry(BaseModel):
    """A registered model: its id and its manifest."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Registry id; the folder name under models/.")
    manifest: ModelManifest = Field(description="What the model is and how it was trained.")


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
    manifest = read_manifest(folder, expected_method=expected_method, verify=verify)
    return ModelEntry(id=model_id, manifest=manifest)


def list_models(data_dir: Path) -> list[ModelEntry]:
    """Every registered model with a readable manifest, newest first."""
    root = models_root(data_dir)
    entries: list[ModelEntry] = []
    if root.is_dir():
        for folder in root.iterdir():
            if not folder.is_dir() or not is_valid_id(folder.name):
                continue
            try:
                entries.append(get_model(data_dir, folder.name))
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


def delete_model(data_dir: Path, model_id: str) -> None:
    """Remove a model from the registry (never the shipped prior)."""
    if model_id == PRIOR_ID:
        raise ConfigError(
            "the shipped prior is part of the package, not of the registry; it cannot be deleted"
        )
    folder = model_dir(data_dir, model_id)
    if not folder.is_dir():
        raise ModelNotFoundError(f"no model with id {model_id!r}")
    doomed = folder.with_name(f".{model_id}.deleting.{uuid.uuid4().hex[:8]}")
    os.replace(folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
