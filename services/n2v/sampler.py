"""n2v's training batches, with the rotations and flips n2v only offers as a stored 8-fold copy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from services.n2v.tf_env import N2V_DataWrapper, n2v_utils
from shared.methods.n2v import N2VConfig


def make_manipulator(config: N2VConfig) -> Callable[..., Any]:
    """n2v's blind-spot value manipulator for the config (looked up by name; n2v itself uses eval)."""
    return getattr(n2v_utils, f"pm_{config.manipulator}")(config.n2v_neighborhood_radius)


class AugmentingWrapper(N2V_DataWrapper):
    """n2v's N2V_DataWrapper that rotates by k*90 degrees and flips each patch in its YX plane.

    Done on the fly, before the blind spots are chosen, so it costs no memory (n2v's generator would
    store eight copies of every patch). Square patches keep their shape under rotation.
    """

    patch_sampler: Callable[..., None]
    """n2v's own sampler, set by its constructor; wrapped below."""

    def __init__(self, *args: Any, augment: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if augment:
            sample = self.patch_sampler

            def augmented(source: np.ndarray, batch: np.ndarray, **kw: Any) -> None:
                sample(source, batch, **kw)
                y_axis, x_axis = batch.ndim - 4, batch.ndim - 3  # of one (..., Y, X, C) batch entry
                for j in range(len(batch)):
                    patch = np.rot90(batch[j], k=np.random.randint(4), axes=(y_axis, x_axis))
                    if np.random.randint(2):
                        patch = np.flip(patch, axis=x_axis)
                    batch[j] = patch

            self.patch_sampler = augmented
