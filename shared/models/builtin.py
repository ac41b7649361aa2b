"""The models that ship inside the package, resolvable by id without importing any framework.

`prior` is the pretrained, noise-level-aware N2N U-Net (`fetal-denoise pretrain`, services/n2n/prior/):
the default of `denoise` and of `POST /denoise` when no model and no fit are given.
"""

from __future__ import annotations

from pathlib import Path

from shared.errors import ConfigError, InvalidModelError

PRIOR_ID = "prior"
"""The id of the shipped prior wherever a model id is accepted (CLI --model, the API's model field)."""

PRIOR_DIR = Path(__file__).parent / "prior"
"""Its model directory: weights (safetensors), config and manifest, as package data."""


def prior_available() -> bool:
    """Whether this installation carries the prior's files."""
    return (PRIOR_DIR / "manifest.json").is_file()


def resolve_model(model: str | None, method: str) -> Path:
    """The model directory a caller names: a path, or the id `prior` (also the default, when none is named,
    of the method whose registry entry has the prior). InvalidModelError when the prior is asked for but this
    installation lacks it."""
    from shared.methods.registry import prior_method  # the registry names this module's PRIOR_ID

    if model is not None and model != PRIOR_ID:
        return Path(model)
    prior_of = prior_method()
    if method != prior_of:
        raise ConfigError(f"the shipped prior is an {prior_of} model; {method} needs --model DIR or --fit")
    if not prior_available():
        raise InvalidModelError(
            f"this installation has no pretrained prior ({PRIOR_DIR} is missing): reinstall the package, or "
            "give --model DIR or --fit --scratch"
        )
    return PRIOR_DIR
