"""Turn the CLI's hyper-parameter flags into a method's validated config (shared.methods).

The flags carry the config's own field names (`--batch-size` is `batch_size`), so the HTTP API takes the
same JSON. A flag that the chosen method does not have is refused rather than silently ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.errors import ConfigError
from shared.methods import (
    CONFIG_CLASSES,
    FIT_DEFAULTS,
    SCRATCH_FIT_DEFAULTS,
    TRAIN_DEFAULTS,
    AnyConfig,
    MethodName,
    parse_config,
)


def build_config(
    method: MethodName,
    flags: dict[str, Any],
    config_file: Path | None = None,
    fit: bool = False,
    paper: bool = False,
    scratch: bool = False,
) -> AnyConfig:
    """The method's config from an optional JSON file overlaid with the flags that were given.

    A training starts from the method's training defaults (shared.methods.TRAIN_DEFAULTS), or with
    `paper=True` from the config's own (the paper's settings); `fit=True` (a fit on the volume to denoise)
    starts from the method's bounded fit budget (FIT_DEFAULTS: for n2n, fine-tuning the shipped prior), or
    with `scratch` from random weights (SCRATCH_FIT_DEFAULTS).
    """
    if fit and paper:
        raise ValueError("a fit starts from the fit defaults; paper applies to a training")
    fit_defaults = SCRATCH_FIT_DEFAULTS if scratch else FIT_DEFAULTS
    values: dict[str, Any] = {} if paper else dict(fit_defaults[method] if fit else TRAIN_DEFAULTS[method])
    if config_file is not None:
        try:
            loaded = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{config_file}: not a readable JSON config ({exc})") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{config_file}: a config must be a JSON object")
        values.update(loaded)
    values.update({name: value for name, value in flags.items() if value is not None})
    unknown = sorted(set(values) - set(CONFIG_CLASSES[method].model_fields))
    if unknown:
        flags_named = ", ".join("--" + name.replace("_", "-") for name in unknown)
        raise ConfigError(f"{method} has no option {flags_named}")
    return parse_config(method, values)
