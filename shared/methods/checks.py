"""Checks of a config against the data it will train on, cheap enough to run before a job is queued.

The gateway runs them on every upload it is asked to fit or train on, so a volume no method can train on
with the given config is a 422 at once rather than a job that fails in the worker; the trainers raise the
same errors (`patch_too_large`) if they are reached anyway.
"""

from __future__ import annotations

from shared.errors import ConfigError
from shared.methods import AnyConfig
from shared.methods.n2v import N2VConfig
from shared.slices import slice_axis
from shared.volume import Volume

MIN_SLICE_SIDE = 8
"""The smallest slice side any method trains on (a slice 1 pixel wide is a slice of the wrong plane)."""


def too_small_image(shape: tuple[int, ...], name: str, smallest: int) -> ConfigError:
    """The error for a single 2D image too small to train on: no plane can help, a larger image can."""
    side = "x".join(str(n) for n in shape if n != 1) or "1x1"
    return ConfigError(
        f"{name} is a single {side} image: too small to train on; training needs an image of at least "
        f"{smallest}x{smallest} pixels: give a larger image, or the series (volume) the slice comes from"
    )


def patch_too_large(
    config: N2VConfig, shape: tuple[int, ...], what: str, single_image: str | None = None
) -> ConfigError:
    """The error for an N2V patch that does not fit the data, saying what would (`single_image`: the name of
    a single 2D image, which no other plane can help)."""
    side = "x".join(str(s) for s in shape)
    block = 2**config.unet_n_depth
    fit = min(shape) // block * block
    if fit < max(MIN_SLICE_SIDE, block):
        if single_image is not None:
            return too_small_image(shape, single_image, max(MIN_SLICE_SIDE, block))
        return ConfigError(
            f"the {side} {what} are too small for any training patch; choose plane 'acquisition' (the plane "
            "the slices were acquired in) or the plane whose slices are the largest"
        )
    return ConfigError(
        f"patch_size {config.patch_size} is larger than the {side} {what}; "
        f"choose patch_size <= {fit} (a multiple of {block})"
    )


def check_trainable(config: AnyConfig, volume: Volume, name: str) -> None:
    """Refuse a volume (or series) that `config` cannot train on: slices or patches that do not fit."""
    frame = volume.frames()[0]
    if isinstance(config, N2VConfig) and config.dims == 3:
        if min(frame.shape) < config.patch_size:
            raise patch_too_large(config, frame.shape, f"volume {name}")
        return
    axis = slice_axis(frame, config.plane)
    in_plane = tuple(n for a, n in enumerate(frame.shape) if a != axis)
    single = name if frame.shape[axis] == 1 else None  # one 2D image: no other plane can help
    if isinstance(config, N2VConfig) and min(in_plane) < config.patch_size:
        raise patch_too_large(config, in_plane, f"slices of {name} (across axis {axis})", single)
    if single is not None and min(in_plane) < MIN_SLICE_SIDE:
        raise too_small_image(in_plane, name, MIN_SLICE_SIDE)
    if min(in_plane) < MIN_SLICE_SIDE:
        raise ConfigError(
            f"the slices of {name} across axis {axis} are {'x'.join(map(str, in_plane))}: too small to train "
            "on; choose plane 'acquisition' (the plane the slices were acquired in) or another plane"
        )
