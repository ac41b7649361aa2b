"""Hyper-parameters from a request, validated into the method's typed config before anything is queued.

The configs are shared.methods' plain pydantic models (no framework), so the gateway checks exactly what
a worker receives: the payload carries the validated config itself.
"""

from __future__ import annotations

from typing import Any

from services.gateway.budget import check_budget
from shared.errors import ConfigError
from shared.methods import AnyConfig, MethodName, fit_config
from shared.settings import Settings
from shared.slices import PlaneSetting
from shared.volume import Volume

PlaneChoice = PlaneSetting
"""The `plane` form field: an anatomical plane, or `acquisition` (the plane the slices were acquired in)."""

VOLUMES_PATTERN = r"^( *[0-9]+ *(, *[0-9]+ *)*)?$"
"""The `volumes` form field: volume numbers counted from 0, separated by commas (ASCII digits; empty: none)."""


def with_plane(params: dict[str, Any], plane: str | None) -> dict[str, Any]:
    """`params` with the `plane` form field folded in (the field and a `plane` in params must agree)."""
    if plane is None:
        return params
    if params.get("plane", plane) != plane:
        raise ConfigError(f"plane is {plane!r} but params say {params['plane']!r}; give it once")
    return {**params, "plane": plane}


def fitting_config(
    method: MethodName, params: dict[str, Any], settings: Settings, *, scratch: bool = False
) -> AnyConfig:
    """The config of a fit on the upload: the fit defaults (with `scratch`, from random weights), then
    `params`. A budget set in full (epochs and steps per epoch) is checked against MAX_FIT_STEPS at once,
    before any upload is read."""
    config = fit_config(method, params, scratch=scratch)
    if getattr(config, "steps_per_epoch", None) is not None:  # a method may have no such field
        check_fit_budget(config, [], settings)
    return config


def check_fit_budget(config: AnyConfig, volumes: list[Volume], settings: Settings) -> None:
    """A fit on /denoise within MAX_FIT_STEPS (steps per epoch derived from `volumes` when unset)."""
    check_budget(config, volumes, settings.MAX_FIT_STEPS, "MAX_FIT_STEPS", "fit", FIT_ADVICE)


def check_training_budget(config: AnyConfig, volumes: list[Volume], settings: Settings) -> None:
    """A training on /train within MAX_TRAIN_STEPS."""
    check_budget(config, volumes, settings.MAX_TRAIN_STEPS, "MAX_TRAIN_STEPS", "training", "")


FIT_ADVICE = "; train a model with /train instead"
