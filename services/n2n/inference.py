"""Running the U-Net over a stack of 2D slices: batched, tiled when large, without autograd."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from services.n2n.device import inference_autocast, inference_memory_format
from services.n2n.model import N2NUNet
from services.n2n.tiling import blend_window, blended_tile_starts


def predict_slices(
    model: N2NUNet,
    slices: np.ndarray,
    *,
    batch_size: int,
    tile: int,
    overlap: int,
    amp: bool,
    levels: np.ndarray | float | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """The network's output for (N, H, W) normalised slices, or (N, C, H, W) slice stacks, as (N, H, W).

    `levels`: the noise sigma (normalised scale) of each slice, or one for all, for a network with a noise
    map; ignored by one without.

    Slices with a side above `tile` go through in overlapping tiles blended linearly, so memory stays
    bounded by `batch_size` tiles whatever the slice size. `on_batch(done)` is called after each batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    slices = np.asarray(slices, dtype=np.float32)
    if slices.ndim == 3:
        slices = slices[:, None]
    count, _, height, width = slices.shape
    device = next(model.parameters()).device
    sigmas = (
        np.array(np.broadcast_to(np.asarray(levels, dtype=np.float32), (count,)))
        if model.noise_map and levels is not None
        else None
    )
    out = np.empty((count, height, width), dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), inference_autocast(device, amp):
            for start in range(0, count, batch_size):
                chunk = slices[start : start + batch_size]
                chunk_levels = sigmas[start : start + batch_size] if sigmas is not None else None
                if height <= tile and width <= tile:
                    out[start : start + len(chunk)] = _run(model, chunk, chunk_levels, device)
                else:
                    out[start : start + len(chunk)] = _run_tiled(
                        model, chunk, chunk_levels, device, tile, overlap
                    )
                if on_batch is not None:
                    on_batch(start + len(chunk))
    finally:
        model.train(was_training)
    return out


def _run(model: N2NUNet, chunk: np.ndarray, levels: np.ndarray | None, device: torch.device) -> np.ndarray:
    """One forward pass over a (B, C, H, W) chunk (with its noise levels, for a noise-map network)."""
    x = torch.from_numpy(np.ascontiguousarray(chunk)).to(device)
    x = x.contiguous(memory_format=inference_memory_format(device))
    sigma = torch.from_numpy(np.ascontiguousarray(levels)).to(device) if levels is not None else None
    return model(x, sigma)[:, 0].float().cpu().numpy()


def _run_tiled(
    model: N2NUNet,
    chunk: np.ndarray,
    levels: np.ndarray | None,
    device: torch.device,
    tile: int,
    overlap: int,
) -> np.ndarray:
    """A (B, C, H, W) chunk in overlapping tiles, each tile position batched across the chunk."""
    count, _, height, width = chunk.shape
    tile_h, tile_w = min(tile, height), min(tile, width)
    window = blend_window(tile_h, tile_w, overlap)
    total = np.zeros((count, height, width), dtype=np.float32)
    weight = np.zeros((height, width), dtype=np.float32)
    for y in blended_tile_starts(height, tile_h, overlap):
        for x in blended_tile_starts(width, tile_w, overlap):
            piece = _run(model, chunk[:, :, y : y + tile_h, x : x + tile_w], levels, device)
            total[:, y : y + tile_h, x : x + tile_w] += piece * window
            weight[y : y + tile_h, x : x + tile_w] += window
    return total / weight
