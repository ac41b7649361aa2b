"""Hyper-parameters from a request, validated into the method's typed config before anything is queued.

The configs are shared.methods' plain pydantic models (no framework), so the gateway checks exactly what
a worker receives: the payload carries the validated config itself.
"""

from __future__ import annotations

from typing import Any

from shared.errors import ConfigError
from shared.methods import AnyConfig, MethodName, fit_config, parse_config
from shared.methods.n2v import MAX_DEFAULT_STEPS, N2VConfig
from shared.settings import Settings
from shared.slices import PlaneSetting

PlaneChoice = PlaneSetting
"""The `plane` form field: an anatomical plane, or `acquisition` (the plane the slices were acquired in)."""


def with_plane(params: dict[str, Any], plane: str | None) -> dict[str, Any]:
    """`params` with the `plane` form field folded in (the field and a `plane` in params must agree)."""
    if plane is None:
        return params
    if params.get("plane", plane) != plane:
        raise ConfigError(f"plane is {plane!r} but params say {params['plane']!r}; give it once")
    return {**params, "plane": plane}


def training_config(method: MethodName, params: dict[str, Any]) -> AnyConfig:
    """The config of a training job: the method's defaults overlaid with `params` (ConfigError, 422)."""
    return parse_config(method, params)


def fitting_config(method: MethodName, params: dict[str, Any], settings: Settings) -> AnyConfig:
    """The config of a fit on the upload: the fit defaults, `params`, then the server's cap on an N2V fit."""
    config = fit_config(method, params)
    if isinstance(config, N2VConfig):
        steps = config.steps_per_epoch or MAX_DEFAULT_STEPS
        budget = config.epochs * steps
        if budget > settings.MAX_FIT_STEPS:
            raise ConfigError(
                f"params: a fit of {config.epochs} epochs x {steps} steps is {budget} training steps, over "
                f"this server's limit of {settings.MAX_FIT_STEPS} (MAX_FIT_STEPS); train a model with "
                "/train instead"
            )
    return config
