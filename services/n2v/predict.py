"""Denoise a whole volume with a trained N2V model: slice-wise for 2D models, as a volume for 3D ones."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from services.n2v.tf_env import N2V, quiet, tf
from services.n2v.tiling import choose_n_tiles, network_bytes_per_voxel
from services.n2v.train import MODEL_NAME
from shared.errors import InvalidModelError
from shared.intensity import Normalisation
from shared.manifest import ModelManifest, read_manifest
from shared.methods.n2v import N2VConfig
from shared.progress import Progress, ProgressCallback, ignore_progress
from shared.slices import slice_along, slice_axis, stack_slices
from shared.volume import Volume, check_voxels, require_single

MIB = 1 << 20


@dataclass(frozen=True, eq=False)
class LoadedN2V:
    """A verified model directory, loaded once and reusable for many volumes."""

    model: N2V
    config: N2VConfig
    manifest: ModelManifest
    model_dir: Path


def load_model(model_dir: Path) -> LoadedN2V:
    """Load an N2V model directory after checking its manifest (method and file checksums)."""
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir, "n2v")
    try:
        config = N2VConfig.model_validate(manifest.config)
    except ValidationError as exc:
        raise InvalidModelError(f"{model_dir}: the manifest's config is not a valid n2v config") from exc
    try:
        with quiet():
            model = N2V(config=None, name=MODEL_NAME, basedir=str(model_dir))
            # n2v picks the newest *.h5 it finds; load the verified best weights explicitly.
            model.keras_model.load_weights(str(model_dir / MODEL_NAME / "weights_best.h5"))
    except (OSError, ValueError, KeyError, tf.errors.OpError) as exc:
        raise InvalidModelError(f"{model_dir}: n2v cannot load this model ({exc})") from exc
    return LoadedN2V(model=model, config=config, manifest=manifest, model_dir=model_dir)


def n_tiles_for(loaded: LoadedN2V, shape: tuple[int, ...], memory_budget_mb: int) -> tuple[int, ...]:
    """n2v's n_tiles for an image of `shape` (YX or ZYX) within the memory budget."""
    cfg = loaded.config
    return choose_n_tiles(
        shape,
        bytes_per_voxel=network_bytes_per_voxel(cfg.unet_n_first),
        budget_bytes=memory_budget_mb * MIB,
        block=2**cfg.unet_n_depth,
        overlap=int(loaded.model._axes_tile_overlap("X")[0]),
    )


def denoise(
    volume: Volume,
    model: Path | LoadedN2V,
    *,
    progress: ProgressCallback = ignore_progress,
    memory_budget_mb: int = 2048,
) -> Volume:
    """The denoised volume, with the input's own intensity scale, shape, geometry and source metadata.

    The volume is normalised by its own robust mapping (the model's recorded percentiles, as in
    training), given to n2v's predict (which standardises with the training mean and std and undoes it), and mapped back.
    `memory_budget_mb` bounds the network's working memory through n2v's tiling.
    """
    loaded = model if isinstance(model, LoadedN2V) else load_model(Path(model))
    check_voxels(require_single(volume, "input volume").data, "input volume")
    mapping = Normalisation.of_model(loaded.manifest.data).fit(volume.data, "input volume")
    normalised = mapping.normalise(volume.data)
    n2v = loaded.model
    with quiet():
        if loaded.config.dims == 3:
            progress(Progress(stage="predicting", fraction=0.0, step=0, steps=1))
            n_tiles = n_tiles_for(loaded, normalised.shape, memory_budget_mb)
            result = n2v.predict(normalised, "ZYX", n_tiles=n_tiles)
            progress(Progress(stage="predicting", fraction=1.0, step=1, steps=1))
        else:
            axis = slice_axis(volume, loaded.config.plane)
            slices = slice_along(normalised, axis)
            n_tiles = n_tiles_for(loaded, slices.shape[1:], memory_budget_mb)
            out = np.empty(slices.shape, dtype=np.float32)
            for i, image in enumerate(slices):
                out[i] = n2v.predict(np.ascontiguousarray(image), "YX", n_tiles=n_tiles)
                progress(
                    Progress(
                        stage="predicting", fraction=(i + 1) / len(slices), step=i + 1, steps=len(slices)
                    )
                )
            result = stack_slices(out, axis)
    return volume.with_data(mapping.denormalise(result))
