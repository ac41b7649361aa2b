"""Hyper-parameters from a request, validated with the workers' own pydantic configs before queuing.

services.n2n.config and services.n2v.config are plain pydantic (no torch, no tensorflow), so the
gateway checks exactly what a worker will check.
"""

from __future__ import annotations

from typing import Any, Literal

from services.n2n.config import parse_config as parse_n2n_config
from services.n2v.config import FIT_DEFAULTS, MAX_DEFAULT_STEPS
from services.n2v.config import parse_config as parse_n2v_config
from shared.errors import ConfigError
from shared.settings import Settings

Method = Literal["n2n", "n2v"]


def validate_params(method: Method, params: dict[str, Any]) -> dict[str, Any]:
    """Refuse unknown fields or values out of range (ConfigError, 422); return the params unchanged."""
    if method == "n2n":
        parse_n2n_config(params)
    else:
        parse_n2v_config(params)
    return params


def validate_fit_params(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Params of an N2V fit: defaults for the budget, then the server's cap on epochs x steps."""
    merged = {**FIT_DEFAULTS, **params}
    config = parse_n2v_config(merged)
    steps = config.steps_per_epoch or MAX_DEFAULT_STEPS
    budget = config.epochs * steps
    if budget > settings.MAX_FIT_STEPS:
        raise ConfigError(
            f"params: a fit of {config.epochs} epochs x {steps} steps is {budget} training steps, over this "
            f"server's limit of {settings.MAX_FIT_STEPS} (MAX_FIT_STEPS); train a model with /train instead"
        )
    return merged
