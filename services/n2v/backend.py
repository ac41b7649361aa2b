"""The adapter from our N2VConfig (shared/methods/n2v.py, plain pydantic) to n2v's own config object."""

from __future__ import annotations

from typing import Any

import numpy as np

from services.n2v.tf_env import BackendConfig
from shared.errors import ConfigError
from shared.methods.n2v import N2VConfig


def backend_mask(config: N2VConfig) -> list[Any] | None:
    """The structN2V mask in n2v's form: as given for 2D, one centred Z plane for 3D."""
    if config.struct_n2v_mask is None:
        return None
    return [config.struct_n2v_mask] if config.dims == 3 else config.struct_n2v_mask


def backend_config(config: N2VConfig, example_patches: np.ndarray) -> BackendConfig:
    """n2v's config for training on `example_patches` (SYXC or SZYXC, normalised to [0, 1]).

    n2v standardises with the mean and std of these patches and stores both in its config.json; pass the
    whole training set so training and prediction standardise identically.
    """
    if example_patches.ndim != config.dims + 2:
        raise ConfigError(
            f"a {config.dims}D config needs {'SZYXC' if config.dims == 3 else 'SYXC'} patches, "
            f"got an array of shape {example_patches.shape}"
        )
    return BackendConfig(
        example_patches,
        unet_kern_size=config.unet_kern_size,
        unet_n_depth=config.unet_n_depth,
        unet_n_first=config.unet_n_first,
        batch_norm=config.batch_norm,
        train_loss=config.loss,
        train_epochs=config.epochs,
        train_steps_per_epoch=config.resolved_steps(len(example_patches)),
        train_learning_rate=config.lr,
        # The ramp-down sets the rate every step; n2v's plateau halving would fight it.
        **({"train_reduce_lr": None} if config.rampdown > 0 else {}),
        train_batch_size=config.batch_size,
        train_tensorboard=config.tensorboard,
        n2v_perc_pix=config.n2v_perc_pix,
        n2v_patch_shape=config.patch_shape(),
        n2v_manipulator=config.manipulator,
        n2v_neighborhood_radius=config.n2v_neighborhood_radius,
        structN2Vmask=backend_mask(config),
        blurpool=config.n2v2,
        skip_skipone=config.n2v2,
    )
