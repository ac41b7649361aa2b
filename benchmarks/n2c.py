"""N2C (Noise2Clean), the practical upper bound: the N2N U-Net trained on noisy -> clean pairs.

`services.n2n.train.train` has no clean-target mode (its batches swap input and target at random, which
Noise2Noise wants and Noise2Clean must not do), so this file drives the same network, optimiser, learning
rate schedule, crop sampling scheme and model selection with clean targets. Everything else is N2N's:
the same config, steps, batch, crops and the same noisy inputs (both copies of each training pair).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from services.n2n.batches import crop_shape, steps_per_epoch
from services.n2n.config import N2NConfig
from services.n2n.data import N2NTrainingData, SlicePairs
from services.n2n.device import autocast, memory_format, pick_device, prepare
from services.n2n.model import N2NUNet
from services.n2n.train import LOSSES, learning_rate
from services.n2n.validation import validate

N2C_BATCH_STREAM = 13
"""Seed stream of N2C's crop sampling (N2N's batches use stream 3 of the same seed)."""


def clean_target_batches(
    data: N2NTrainingData, config: N2NConfig, epoch: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(noisy input, clean target) batches of shape (B, 1, h, w) for one epoch: random crops of random slices."""
    if data.train.clean is None:
        raise ValueError("N2C needs clean training slices (data made by from_clean)")
    rng = np.random.default_rng([config.seed, N2C_BATCH_STREAM, epoch])
    n, steps = len(data.train), steps_per_epoch(data, config)
    crop_h, crop_w = crop_shape(data, config)
    needed = steps * config.batch_size
    order = np.concatenate([rng.permutation(n) for _ in range(math.ceil(needed / n))])[:needed]
    batches = []
    for step in range(steps):
        inputs, targets = [], []
        for index in order[step * config.batch_size : (step + 1) * config.batch_size]:
            height, width = data.train.clean[index].shape
            y, x = int(rng.integers(0, height - crop_h + 1)), int(rng.integers(0, width - crop_w + 1))
            window = (slice(y, y + crop_h), slice(x, x + crop_w))
            noisy = data.train.first[index] if rng.random() < 0.5 else data.train.second[index]
            inputs.append(noisy[window])
            targets.append(data.train.clean[index][window])
        batches.append((np.stack(inputs)[:, None], np.stack(targets)[:, None]))
    return batches


def train_n2c(config: N2NConfig, data: N2NTrainingData, device: str | None = None) -> N2NUNet:
    """Train the N2N U-Net on clean targets with N2N's settings; return the epoch with the best validation loss."""
    dev = pick_device(device)
    prepare(dev)
    torch.manual_seed(config.seed)
    model = N2NUNet().to(dev, memory_format=memory_format(dev))
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps
    )
    loss_fn = LOSSES[config.loss]
    if data.val.clean is None:
        raise ValueError("N2C needs clean validation slices (data made by from_clean)")
    val = SlicePairs(first=data.val.first, second=data.val.clean, clean=data.val.clean)
    steps = steps_per_epoch(data, config)
    best_loss, best_state = math.inf, None
    for epoch in range(config.epochs):
        model.train()
        for step, (inputs, targets) in enumerate(clean_target_batches(data, config, epoch)):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, epoch * steps + step, config.epochs * steps)
            x = torch.from_numpy(inputs).to(dev).contiguous(memory_format=memory_format(dev))
            y = torch.from_numpy(targets).to(dev).contiguous(memory_format=memory_format(dev))
            with autocast(dev, config.amp):
                prediction = model(x)
            loss = loss_fn(prediction.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        val_loss = validate(model, val, config, loss_fn)["val_loss"]
        if val_loss is not None and val_loss < best_loss:
            best_loss = val_loss
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best_state is None:
        raise RuntimeError("N2C training diverged: the validation loss was never finite")
    model.load_state_dict(best_state)
    return model.eval()
