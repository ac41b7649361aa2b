"""Validation of a Noise2Noise model: loss on the noisy pairs, PSNR / RMSE against clean slices when known."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from services.n2n.data import SlicePairs
from services.n2n.inference import predict_slices
from services.n2n.model import N2NUNet
from shared.errors import ConfigError
from shared.methods.n2n import N2NConfig
from shared.metrics import psnr_from_mse

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def validate(model: N2NUNet, val: SlicePairs, config: N2NConfig, loss_fn: LossFn) -> dict[str, float | None]:
    """val_loss (training loss of first -> second, per pixel), val_psnr and val_rmse (dB and RMSE vs clean).

    PSNR and RMSE are over all validation pixels at once, on the normalised scale (MAX = 1.0); None
    when the data have no clean slices (real noisy pairs).
    """
    loss_sum = 0.0
    squared_error = 0.0
    pixels = 0
    for indices in _by_shape(val.first).values():
        first = np.stack([val.first[i] for i in indices])
        second = np.stack([val.second[i] for i in indices])
        pred = predict_slices(
            model,
            first,
            batch_size=config.batch_size,
            tile=config.tile,
            overlap=config.tile_overlap,
            amp=config.amp,
        )
        loss_sum += float(loss_fn(torch.from_numpy(pred), torch.from_numpy(second))) * pred.size
        if val.clean is not None:
            clean = np.stack([val.clean[i] for i in indices])
            squared_error += float(np.sum((pred.astype(np.float64) - clean) ** 2))
        pixels += pred.size
    metrics: dict[str, float | None] = {"val_loss": loss_sum / pixels, "val_psnr": None, "val_rmse": None}
    if val.clean is not None:
        mse = squared_error / pixels
        metrics["val_psnr"], metrics["val_rmse"] = psnr_from_mse(mse), mse**0.5
    return metrics


def validation_pairs(val: SlicePairs, config: N2NConfig) -> SlicePairs:
    """The validation pairs the loss is taken on: noisy -> noisy, or noisy -> clean for Noise2Clean."""
    if config.targets == "noisy":
        return val
    if val.clean is None:
        raise ConfigError(
            "targets='clean' (Noise2Clean) needs clean volumes with synthetic noise; real noisy pairs have none"
        )
    return SlicePairs(first=val.first, second=val.clean, clean=val.clean)


def input_metrics(val: SlicePairs) -> dict[str, float | None]:
    """PSNR and RMSE of the noisy validation inputs themselves: the baseline a model must beat."""
    if val.clean is None:
        return {"input_psnr": None, "input_rmse": None}
    squared = sum(
        float(np.sum((f.astype(np.float64) - c) ** 2)) for f, c in zip(val.first, val.clean, strict=True)
    )
    mse = squared / sum(c.size for c in val.clean)
    return {"input_psnr": psnr_from_mse(mse), "input_rmse": mse**0.5}


def _by_shape(images: list[np.ndarray]) -> dict[tuple[int, ...], list[int]]:
    """Indices of `images` grouped by shape, so each group stacks into one batch array."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(image.shape, []).append(i)
    return groups
