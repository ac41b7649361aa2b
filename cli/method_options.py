"""Turn the CLI's hyper-parameter flags into a method's validated config.

The flags carry the config's own field names (`--batch-size` is `batch_size`), so the HTTP API takes the
same JSON. A flag that the chosen method does not have is refused rather than silently ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from shared.errors import ConfigError


class Method(StrEnum):
    """The two denoising methods."""

    n2n = "n2n"
    n2v = "n2v"


def _config_api(method: Method) -> tuple[type, Callable[[dict[str, Any]], Any]]:
    """The method's config class and its validating parser (both import no framework)."""
    if method is Method.n2n:
        from services.n2n import config as n2n_config

        return n2n_config.N2NConfig, n2n_config.parse_config
    from services.n2v import config as n2v_config

    return n2v_config.N2VConfig, n2v_config.parse_config


def build_config(
    method: Method, flags: dict[str, Any], config_file: Path | None = None, fit: bool = False
) -> Any:
    """The method's config from an optional JSON file overlaid with the flags that were given.

    `fit=True` (n2v fitted on the volume to denoise) starts from the bounded fit budget, not 150 epochs.
    """
    values: dict[str, Any] = {}
    if fit and method is Method.n2v:
        from services.n2v.config import FIT_DEFAULTS

        values.update(FIT_DEFAULTS)
    if config_file is not None:
        try:
            loaded = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{config_file}: not a readable JSON config ({exc})") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{config_file}: a config must be a JSON object")
        values.update(loaded)
    values.update({name: value for name, value in flags.items() if value is not None})
    config_class, parse_config = _config_api(method)
    unknown = sorted(set(values) - set(config_class.model_fields))
    if unknown:
        flags_named = ", ".join("--" + name.replace("_", "-") for name in unknown)
        raise ConfigError(f"{method.value} has no option {flags_named}")
    return parse_config(values)
