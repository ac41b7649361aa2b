"""Noise2Noise inference on whole volumes: slice by slice along the model's plane, on the input's scale."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import ValidationError

from services.n2n.checkpoint import ARCHITECTURE, CONFIG_FORMAT, CONFIG_NAME, WEIGHTS_NAME, load_weights
from services.n2n.data import check_aligned
from services.n2n.device import inference_memory_format, pick_device, place, prepare
from services.n2n.inference import predict_slices
from services.n2n.model import N2NUNet, network_for
from shared.errors import InvalidModelError
from shared.intensity import IntensityMapping, Normalisation
from shared.manifest import ModelManifest, read_manifest
from shared.methods.inference import InferenceOptions
from shared.methods.n2n import N2NConfig
from shared.progress import Progress, ProgressCallback, ignore_progress
from shared.quality.noise_level import ToldNoise, told_noise_of_volume
from shared.slices import PlaneSetting, context_stack, slice_axis, stack_slices
from shared.volume import Volume, check_voxels, require_single

STACK_CHUNK = 64
"""Slices whose 2.5D input stacks are built at once during inference."""


@dataclass(frozen=True, eq=False)
class LoadedN2N:
    """A verified N2N model in memory, ready to denoise many volumes."""

    network: N2NUNet
    config: N2NConfig
    manifest: ModelManifest
    directory: Path

    @property
    def device(self) -> torch.device:
        """Where the network's weights live."""
        return next(self.network.parameters()).device


def load_model(model_dir: Path, device: str | None = None) -> LoadedN2N:
    """Load a model directory after checking its manifest (method n2n, checksum of every file)."""
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir, "n2n")
    for name in (WEIGHTS_NAME, CONFIG_NAME):
        if name not in manifest.files:
            raise InvalidModelError(f"{model_dir}: the manifest does not list {name}")
    config = _read_config(model_dir / CONFIG_NAME)
    dev = pick_device(device)
    prepare(dev)
    network = network_for(config)
    load_weights(model_dir / WEIGHTS_NAME, network)
    network = place(network, dev, inference_memory_format(dev)).eval()
    return LoadedN2N(network=network, config=config, manifest=manifest, directory=model_dir)


def denoise(
    volume: Volume,
    model: Path | LoadedN2N,
    *,
    second: Volume | None = None,
    progress: ProgressCallback = ignore_progress,
    batch_size: int = 8,
    options: InferenceOptions | None = None,
) -> Volume:
    """The denoised volume, with the input's shape, geometry and intensity scale.

    The input is normalised with its own robust mapping (the model's recorded percentiles) and mapped
    back. With `second` (another noisy acquisition of the same anatomy) both are normalised with the
    input's mapping and the two predictions averaged: the paper's Eq. 3, which uses more information than
    single-copy inference. A model with a noise map (the prior) is told the input's noise level
    (`told_noise`). With `options.planes == "three"` the volume is denoised across each of its three axes
    and the results averaged, where its voxels are near isotropic (`inference_axes`).
    """
    options = options or InferenceOptions()
    loaded = model if isinstance(model, LoadedN2N) else load_model(Path(model))
    check_voxels(require_single(volume, "input").data, "input")
    copies = [volume]
    if second is not None:
        check_voxels(second.data, "second acquisition")
        check_aligned(volume, second, "input and second acquisition")
        copies.append(second)
    mapping = Normalisation.of_model(loaded.manifest.data).fit(volume.data, "input")
    axes = inference_axes(volume, loaded.config.plane, options.planes)
    level = None
    if loaded.config.noise_map:
        told = told_noise(volume, loaded, second=second, given=options.noise_sigma, mapping=mapping)
        level = told.sigma / mapping.scale
    passes = [(copy, axis) for copy in copies for axis in axes]
    total_slices = sum(volume.shape[axis] for _, axis in passes)
    started = time.monotonic()
    total = np.zeros(volume.shape, dtype=np.float32)
    context = loaded.config.context
    done_before = 0
    for copy, axis in passes:
        normalised = mapping.normalise(copy.data)
        count = volume.shape[axis]
        predicted = np.empty((count, *(n for a, n in enumerate(volume.shape) if a != axis)), np.float32)
        # Stacks are built a chunk at a time: 2 context + 1 copies of the whole volume would not fit.
        for start in range(0, count, STACK_CHUNK):
            stop = min(start + STACK_CHUNK, count)

            def report(done: int, offset: int = done_before + start) -> None:
                progress(
                    Progress(
                        stage="predicting",
                        fraction=(offset + done) / total_slices,
                        step=offset + done,
                        steps=total_slices,
                        seconds=time.monotonic() - started,
                    )
                )

            predicted[start:stop] = predict_slices(
                loaded.network,
                np.stack([context_stack(normalised, axis, i, context) for i in range(start, stop)]),
                batch_size=batch_size,
                tile=loaded.config.tile,
                overlap=loaded.config.tile_overlap,
                amp=loaded.config.amp,
                levels=level,
                on_batch=report,
            )
        total += stack_slices(predicted, axis)
        done_before += count
    return volume.with_data(mapping.denormalise(total / len(passes)))


NEAR_ISOTROPIC = 1.5
"""Three-plane averaging needs voxels whose longest side is at most 1.5 x the shortest: across a thick axis
the in-plane slices would be blurred thick-slice images the prior never sees as slices."""


def inference_axes(volume: Volume, plane: PlaneSetting, planes: Literal["one", "three"]) -> list[int]:
    """The axes to slice across: the model's plane, and with "three" the other two where voxels allow."""
    first = slice_axis(volume, plane)
    if planes == "one" or volume.data.ndim != 3:
        return [first]
    spacing = [abs(s) for s in volume.spacing[:3]]
    if max(spacing) > NEAR_ISOTROPIC * min(spacing) or min(volume.shape) < 2:
        return [first]
    return [first, *(axis for axis in range(3) if axis != first)]


def told_noise(
    volume: Volume,
    model: LoadedN2N,
    *,
    second: Volume | None = None,
    given: float | None = None,
    mapping: IntensityMapping | None = None,
) -> ToldNoise:
    """The noise level `model` is told about `volume` (`mapping`: the input's, when already fitted)."""
    normalisation = Normalisation.of_model(model.manifest.data)
    return told_noise_of_volume(volume, normalisation, second=second, given=given, mapping=mapping)


def _read_config(path: Path) -> N2NConfig:
    """The training config stored beside the weights, checked for format and architecture."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != CONFIG_FORMAT or document["architecture"]["name"] != ARCHITECTURE:
            raise InvalidModelError(f"{path}: not an N2N model config")
        return N2NConfig.model_validate(document["config"])
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        raise InvalidModelError(f"{path}: unreadable model config ({exc.__class__.__name__})") from exc
