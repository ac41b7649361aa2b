"""The prior that ships with the package: where it lives and how a pretraining run becomes it."""

from __future__ import annotations

import shutil
from pathlib import Path

from shared.manifest import MANIFEST_NAME, read_manifest
from shared.models.builtin import PRIOR_DIR

SHIPPED_FILES = ("model.safetensors", "config.json", MANIFEST_NAME)


def ship_prior(model_dir: Path) -> Path:
    """Copy a finished pretraining's model directory into the package (checked first); return where."""
    read_manifest(Path(model_dir), "n2n")
    PRIOR_DIR.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED_FILES:
        shutil.copyfile(Path(model_dir) / name, PRIOR_DIR / name)
    read_manifest(PRIOR_DIR, "n2n")
    return PRIOR_DIR
