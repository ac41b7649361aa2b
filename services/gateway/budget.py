"""Training budgets: every fit and training the gateway accepts has a bounded number of optimiser steps.

A budget is epochs x steps per epoch. When a config leaves steps_per_epoch unset it is derived from the
data: N2V caps it at n2v's own default (MAX_DEFAULT_STEPS); N2N makes one pass over the training slices in
batches, so its budget is counted here from the uploaded volumes (every slice along the plane the config
trains in, an upper bound of the training split). Fits on /denoise are capped by MAX_FIT_STEPS, trainings on
/train by MAX_TRAIN_STEPS; both are settings.
"""

from __future__ import annotations

from shared.errors import ConfigError
from shared.methods import AnyConfig
from shared.slices import slice_axis
from shared.volume import Volume


def steps_per_epoch(config: AnyConfig, volumes: list[Volume]) -> int:
    """The config's steps per epoch, or the most its derivation can give on these volumes (the config's
    own rule, MethodConfigBase.most_steps_per_epoch, over every slice along the plane it trains in)."""
    slices = 0
    for volume in volumes:
        for frame in volume.frames():
            slices += frame.shape[slice_axis(frame, config.plane)]
    return config.most_steps_per_epoch(slices)


def check_budget(
    config: AnyConfig, volumes: list[Volume], limit: int, setting: str, what: str, advice: str
) -> None:
    """Refuse (422) a config whose epochs x steps per epoch on these volumes is over `limit`."""
    steps = steps_per_epoch(config, volumes)
    budget = config.epochs * steps
    if budget > limit:
        raise ConfigError(
            f"params: a {what} of {config.epochs} epochs x {steps} steps is {budget} training steps, over "
            f"this server's limit of {limit} ({setting}){advice}"
        )
