"""Validation of a Noise2Noise model: loss on fixed validation pairs, PSNR / RMSE against clean slices when known.

The validation pairs are drawn once per training (seeded), so the loss of every epoch is measured on the
same inputs and targets: the other noisy copy (N2N), the clean slice (N2C), or a fixed recorruption of a
single scan (R2R), whose expected loss is the error against the clean slice plus a constant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from services.n2n.batches import input_level, recorrupted
from services.n2n.data import SlicePairs
from services.n2n.inference import predict_slices
from services.n2n.model import N2NUNet
from shared.errors import ConfigError
from shared.methods.n2n import N2NConfig
from shared.metrics import psnr_from_mse

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
VALIDATION_STREAM = 5


@dataclass(frozen=True, eq=False)
class ValidationSet:
    """What validation runs on: the loss pairs, the noisy stacks as they are, and the clean slices if known."""

    loss_inputs: list[np.ndarray]
    """(2 context + 1, H, W) inputs of the validation loss."""
    loss_targets: list[np.ndarray]
    """(H, W) targets of the validation loss."""
    noisy: list[np.ndarray]
    """(2 context + 1, H, W) noisy stacks as they are: what denoising sees, scored against `clean`."""
    clean: list[np.ndarray] | None
    """(H, W) clean middle slices, when known."""
    loss_levels: list[float]
    """The noise sigma of each loss input (what a noise-level-aware network is told)."""
    noisy_levels: list[float]
    """The noise sigma of each noisy stack."""


def validation_set(val: SlicePairs, config: N2NConfig) -> ValidationSet:
    """The pairs the validation loss is taken on: noisy -> noisy, noisy -> clean (N2C), or recorrupted."""
    middle = val.middle
    clean = [stack[middle] for stack in val.clean] if val.clean is not None else None
    levels = list(val.noise_std) if val.noise_std is not None else [0.0] * len(val)
    if config.targets == "clean":
        if clean is None or val.second is None:
            raise ConfigError(
                "targets='clean' (Noise2Clean) needs clean volumes with synthetic noise; real noisy scans have none"
            )
        return ValidationSet(val.first, clean, val.first, clean, levels, levels)
    if val.second is None:
        assert val.noise_std is not None
        rng = np.random.default_rng([config.seed, VALIDATION_STREAM])
        pairs = [
            recorrupted(stack, std, config.recorruption, middle, rng)
            for stack, std in zip(val.first, val.noise_std, strict=True)
        ]
        recorrupted_levels = [input_level(std, True, config.recorruption) for std in levels]
        return ValidationSet(
            [p[0] for p in pairs], [p[1][0] for p in pairs], val.first, clean, recorrupted_levels, levels
        )
    return ValidationSet(val.first, [stack[middle] for stack in val.second], val.first, clean, levels, levels)


def validate(
    model: N2NUNet, val: ValidationSet, config: N2NConfig, loss_fn: LossFn
) -> dict[str, float | None]:
    """val_loss (training loss on the validation pairs, per pixel), val_psnr and val_rmse (against clean).

    PSNR and RMSE are over all validation pixels at once, on the normalised scale (MAX = 1.0), of the
    network run on the noisy stacks as they are (what denoising does); None without clean slices.
    """
    loss_sum = 0.0
    pixels = 0
    reuse = val.loss_inputs is val.noisy  # N2N and N2C: the loss inputs are the noisy stacks themselves
    predictions: dict[int, np.ndarray] = {}
    for indices in _by_shape(val.loss_inputs).values():
        pred = _predict(
            model, [val.loss_inputs[i] for i in indices], [val.loss_levels[i] for i in indices], config
        )
        targets = np.stack([val.loss_targets[i] for i in indices])
        loss_sum += float(loss_fn(torch.from_numpy(pred), torch.from_numpy(targets))) * pred.size
        pixels += pred.size
        if reuse:
            predictions |= dict(zip(indices, pred, strict=True))
    metrics: dict[str, float | None] = {"val_loss": loss_sum / pixels, "val_psnr": None, "val_rmse": None}
    if val.clean is not None:
        if not reuse:
            for indices in _by_shape(val.noisy).values():
                pred = _predict(
                    model, [val.noisy[i] for i in indices], [val.noisy_levels[i] for i in indices], config
                )
                predictions |= dict(zip(indices, pred, strict=True))
        squared = sum(
            float(np.sum((predictions[i].astype(np.float64) - clean) ** 2))
            for i, clean in enumerate(val.clean)
        )
        mse = squared / sum(c.size for c in val.clean)
        metrics["val_psnr"], metrics["val_rmse"] = psnr_from_mse(mse), mse**0.5
    return metrics


def input_metrics(val: ValidationSet) -> dict[str, float | None]:
    """PSNR and RMSE of the noisy validation slices themselves: the baseline a model must beat."""
    if val.clean is None:
        return {"input_psnr": None, "input_rmse": None}
    middle = val.noisy[0].shape[0] // 2
    squared = sum(
        float(np.sum((stack[middle].astype(np.float64) - clean) ** 2))
        for stack, clean in zip(val.noisy, val.clean, strict=True)
    )
    mse = squared / sum(c.size for c in val.clean)
    return {"input_psnr": psnr_from_mse(mse), "input_rmse": mse**0.5}


def _predict(model: N2NUNet, stacks: list[np.ndarray], levels: list[float], config: N2NConfig) -> np.ndarray:
    """The network's output on stacks of one shape (and their noise levels), (N, H, W)."""
    return predict_slices(
        model,
        np.stack(stacks),
        levels=np.asarray(levels, dtype=np.float32),
        batch_size=config.batch_size,
        tile=config.tile,
        overlap=config.tile_overlap,
        amp=config.amp,
    )


def _by_shape(images: list[np.ndarray]) -> dict[tuple[int, ...], list[int]]:
    """Indices of `images` grouped by shape, so each group stacks into one batch array."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(image.shape, []).append(i)
    return groups
