"""The models that ship inside the package, resolvable by id without importing any framework.

`prior` is the pretrained, noise-level-aware N2N U-Net (`fetal-denoise pretrain`, services/n2n/prior/):
the default of `denoise` and of `POST /denoise` when no model and no fit are given.
"""

from __future__ import annotations

from pathlib import Path

PRIOR_ID = "prior"
"""The id of the shipped prior wherever a model id is accepted (CLI --model, the API's model field)."""

PRIOR_DIR = Path(__file__).parent / "prior"
"""Its model directory: weights (safetensors), config and manifest, as package data."""


def prior_available() -> bool:
    """Whether this installation carries the prior's files."""
    return (PRIOR_DIR / "manifest.json").is_file()
