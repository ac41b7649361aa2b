"""Fine-tuning starts from the shipped prior: its weights into a network of the same architecture."""

from __future__ import annotations

from typing import Any

from services.n2n.checkpoint import WEIGHTS_NAME, load_weights
from services.n2n.model import N2NUNet
from shared.errors import ConfigError, InvalidModelError
from shared.manifest import read_manifest
from shared.methods.n2n import N2NConfig
from shared.models.builtin import PRIOR_DIR, PRIOR_ID, prior_available

ARCHITECTURE_FIELDS = ("context", "residual", "noise_map")
"""The config fields that shape the network: a fine-tuning must keep the prior's."""


def prior_config() -> N2NConfig:
    """The config the shipped prior was pretrained with (its manifest's)."""
    if not prior_available():
        raise InvalidModelError(
            f"this installation has no pretrained prior ({PRIOR_DIR} is missing); reinstall the package, "
            "or train from scratch"
        )
    return N2NConfig.model_validate(read_manifest(PRIOR_DIR, "n2n").config)


def check_prior_architecture(config: N2NConfig) -> None:
    """Refuse a fine-tuning config whose network differs from the prior's (the weights would not fit)."""
    prior = prior_config()
    different = [
        f"{name} {getattr(config, name)!r} (the prior's: {getattr(prior, name)!r})"
        for name in ARCHITECTURE_FIELDS
        if getattr(config, name) != getattr(prior, name)
    ]
    if different:
        raise ConfigError(
            "start='prior' fine-tunes the shipped prior, whose network differs from this config in "
            + ", ".join(different)
            + "; leave those fields unset, or start='scratch'"
        )


def load_prior_into(network: N2NUNet) -> dict[str, Any]:
    """Load the prior's weights into `network`; what the fine-tuned model's manifest records of its start."""
    manifest = read_manifest(PRIOR_DIR, "n2n")
    load_weights(PRIOR_DIR / WEIGHTS_NAME, network)
    return {
        "model": PRIOR_ID,
        "weights_sha256": manifest.files[WEIGHTS_NAME],
        "created": manifest.created.isoformat(),
    }
