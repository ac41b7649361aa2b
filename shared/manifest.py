"""The manifest of a trained model directory: what it is, how it was trained, and checksums of its files.

Every model directory (`models/<id>/` in the service, `--out DIR` on the command line) holds a
`manifest.json`. Loading a model verifies the sha256 of each listed file first, so a truncated or
tampered weight file is refused with a clear error instead of producing garbage.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.atomic import atomic_write_text
from shared.errors import InvalidModelError, ModelNotFoundError
from shared.methods import MethodName

MANIFEST_NAME = "manifest.json"


class ModelManifest(BaseModel):
    """Everything recorded about one trained model."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    method: MethodName = Field(description="Which self-supervised method trained it.")
    framework: str = Field(description="Framework and version, e.g. 'torch 2.13.0'.")
    created: datetime = Field(description="UTC time the training finished.")
    config: dict[str, Any] = Field(description="The full training config, as JSON.")
    data: dict[str, Any] = Field(description="Training data summary: volumes, shapes, spacing, sigma, split.")
    validation: dict[str, Any] = Field(
        default_factory=dict, description="Validation metrics of the kept model."
    )
    files: dict[str, str] = Field(description="sha256 hex digest of each file the model needs, by name.")


def sha256_of(path: Path) -> str:
    """Hex sha256 digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(
    model_dir: Path,
    *,
    method: MethodName,
    framework: str,
    config: dict[str, Any],
    data: dict[str, Any],
    validation: dict[str, Any],
    files: list[str],
) -> ModelManifest:
    """Checksum `files` (relative to `model_dir`) and write `manifest.json` atomically."""
    manifest = ModelManifest(
        method=method,
        framework=framework,
        created=datetime.now(UTC),
        config=config,
        data=data,
        validation=validation,
        files={name: sha256_of(model_dir / name) for name in files},
    )
    atomic_write_text(model_dir / MANIFEST_NAME, manifest.model_dump_json(indent=2))
    return manifest


def read_manifest(
    model_dir: Path, expected_method: MethodName | None = None, verify: bool = True
) -> ModelManifest:
    """Load and check a model directory's manifest (method, and the checksum of every listed file)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelNotFoundError(f"no model directory at {model_dir}")
    path = model_dir / MANIFEST_NAME
    if not path.is_file():
        raise InvalidModelError(f"{model_dir}: not a fetal-denoise model directory (no {MANIFEST_NAME})")
    try:
        manifest = ModelManifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise InvalidModelError(f"{path}: unreadable manifest ({exc.__class__.__name__})") from exc
    if expected_method is not None and manifest.method != expected_method:
        raise InvalidModelError(
            f"{model_dir}: this is a {manifest.method} model, not a {expected_method} model"
        )
    if verify:
        for name, digest in manifest.files.items():
            file = model_dir / name
            if not file.is_file():
                raise InvalidModelError(f"{model_dir}: missing model file {name}")
            if sha256_of(file) != digest:
                raise InvalidModelError(
                    f"{model_dir}: {name} does not match its checksum (corrupt or modified)"
                )
    return manifest
