"""Checks of a config against the data it will train on, cheap enough to run before a job is queued.

The gateway runs them on every upload it is asked to fit or train on, so a volume no method can train on
with the given config is a 422 at once rather than a job that fails in the worker; the trainers raise the
same errors (`patch_too_large`) if they are reached anyway.

`check_request` is the one door check, used by the gateway's routes and the command line alike: every
refusal the worker or a writer would make for a config, the inputs' shapes and the output's format, made
before any work (a fit refused for its output's format after 800 s of training was the reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shared.errors import ConfigError, UnsupportedFormatError
from shared.io.formats import DICOM, NPY, output_format
from shared.methods import AnyConfig
from shared.methods.cost import check_step_memory
from shared.methods.n2n import CROP_MULTIPLE, N2NConfig
from shared.methods.n2v import N2VConfig
from shared.methods.workflow import check_volumes
from shared.settings import get_settings
from shared.slices import Plane, plane_axis, slice_axis
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
    config: N2VConfig,
    shape: tuple[int, ...],
    what: str,
    single_image: str | None = None,
    other_plane: str | None = None,
) -> ConfigError:
    """The error for an N2V patch that does not fit the data, saying what would (`single_image`: the name of
    a single 2D image, which no other plane can help; `other_plane`: a plane whose slices the patch fits)."""
    side = "x".join(str(s) for s in shape)
    plane_advice = (
        f", or plane '{other_plane}' (--plane {other_plane}), whose slices fit patch_size {config.patch_size}"
        if other_plane is not None
        else ""
    )
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
        f"choose patch_size <= {fit} (a multiple of {block}){plane_advice}"
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
        other = None if single is not None else _plane_that_fits(frame, config.patch_size, axis)
        raise patch_too_large(config, in_plane, f"slices of {name} (across axis {axis})", single, other)
    if single is not None and min(in_plane) < MIN_SLICE_SIDE:
        raise too_small_image(in_plane, name, MIN_SLICE_SIDE)
    if min(in_plane) < MIN_SLICE_SIDE:
        raise ConfigError(
            f"the slices of {name} across axis {axis} are {'x'.join(map(str, in_plane))}: too small to train "
            "on; choose plane 'acquisition' (the plane the slices were acquired in) or another plane"
        )


def _plane_that_fits(frame: Volume, side: int, axis: int) -> str | None:
    """An anatomical plane, other than the one across `axis`, whose slices are at least `side` wide."""
    planes: tuple[Plane, ...] = ("axial", "coronal", "sagittal")
    for plane in planes:
        try:
            other = plane_axis(frame.affine, plane)
        except ValueError:
            continue
        if other != axis and min(n for a, n in enumerate(frame.shape) if a != other) >= side:
            return plane
    return None


def check_request(
    config: AnyConfig | None,
    inputs: Sequence[tuple[str, Volume]],
    *,
    clean: bool = False,
    repeats: bool = False,
    volumes: Sequence[int] | None = None,
    output: str | Path | None = None,
    keep_dtype: bool = False,
    output_named: bool = True,
) -> None:
    """Refuse, before any work, what the worker, the trainer or the writer would refuse only after it.

    `config`: the fit's or training's config (None: a registered model is used, nothing is trained);
    `inputs`: (name, volume) of each training or denoising input; `clean`: the inputs are clean volumes that
    get synthetic noise (a sigma was given); `repeats` / `volumes`: the n2n pairing of a series' volumes;
    `output`: the file the result will be written to, with `keep_dtype` as asked; `output_named`: whether the
    caller chose that name (the command line) or it follows the upload's format (the gateway).
    Refused (ConfigError or UnsupportedFormatError, a 422 / exit 2) with the message the late refusal had;
    a config one training step of which would not fit a worker's memory (WORKER_MEMORY_BYTES) is refused
    too, naming the largest settings that fit (a worker killed for memory dies again on every retry).
    """
    if config is not None:
        check_memory(config, inputs)
    for name, volume in inputs:
        if config is not None:
            check_trainable(config, volume, name)
        if volumes is not None:
            check_volumes(volumes, len(volume.frames()), name)
        elif repeats and len(volume.frames()) < 2:
            raise ConfigError(
                f"{name}: repeats needs a series of at least 2 repeated volumes, got one volume"
            )
    if isinstance(config, N2NConfig) and config.targets == "clean" and not clean:
        # the n2n trainer's own refusal (services/n2n/batches.py), made before the upload is queued
        raise ConfigError(
            "targets='clean' (Noise2Clean) needs clean volumes with synthetic noise; real noisy scans have none"
        )
    if output is not None and inputs:
        check_output(inputs[0][1], output, keep_dtype=keep_dtype, output_named=output_named)


def check_memory(config: AnyConfig, inputs: Sequence[tuple[str, Volume]]) -> None:
    """Refuse a config one training step of which would not fit WORKER_MEMORY_BYTES
    (shared.methods.cost). N2N without crops trains on whole slices: their area comes from `inputs`, so
    without inputs only its other settings are judged here, and the call with the inputs judges the rest."""
    limit = get_settings().WORKER_MEMORY_BYTES
    if not isinstance(config, N2NConfig | N2VConfig):
        return  # shared.methods.cost models the built-in methods' networks only; another method has no estimate
    if isinstance(config, N2NConfig) and config.crop_size is None:
        if not inputs:
            return
        check_step_memory(config, limit, slice_area=max(slice_area(config, v) for _, v in inputs))
        return
    check_step_memory(config, limit)


def slice_area(config: N2NConfig, volume: Volume) -> int:
    """Pixels of one whole training slice of `volume` in `config`'s plane, as the U-Net pads them (to
    multiples of 32)."""
    frame = volume.frames()[0]
    axis = slice_axis(frame, config.plane)
    area = 1
    for a, n in enumerate(frame.shape):
        if a != axis:
            area *= -(-n // CROP_MULTIPLE) * CROP_MULTIPLE
    return area


def check_output(volume: Volume, output: str | Path, *, keep_dtype: bool, output_named: bool = True) -> None:
    """Refuse an output the writer (shared.io.write_volume) would refuse for this volume, before any work:
    a series of volumes to one `.dcm` file, or the input's data type kept in a `.npy` (float32 only)."""
    fmt = output_format(output)
    name = Path(output).name
    # What the caller can change: the output's name on the command line, the upload's format on the gateway.
    if keep_dtype and fmt == NPY:
        needs = "a NIfTI output" if output_named else "a NIfTI upload (the result has the upload's format)"
        raise ConfigError(f"{name}: a .npy output is float32; keeping the input's data type needs {needs}")
    if fmt == DICOM and volume.is_series:
        advice = (
            "name a .zip (a DICOM series of single-frame slices), .nii or .nii.gz file"
            if output_named
            else "upload it as a .zip (a DICOM series), .nii or .nii.gz file (the result has the upload's format)"
        )
        raise UnsupportedFormatError(
            f"{name}: a series of {volume.shape[0]} volumes cannot be written as one .dcm file; {advice}"
        )
