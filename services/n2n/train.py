"""Noise2Noise training: a linear, resumable loop that keeps the best model by validation loss.

`out_dir` receives `model.safetensors` (the best weights by validation loss), `config.json`,
`checkpoint.safetensors` (rewritten atomically after every epoch) and, last, `manifest.json`. A fresh
training clears those files first, so a directory never claims to hold a model it does not. With
`resume=True` the run continues from the checkpoint and ends at `config.epochs`, under the one resume rule
of shared/training/resume.py (a caller that wants "resume if possible" asks `has_checkpoint(out_dir)`
first). On the CPU a resumed run ends with exactly the weights of an uninterrupted one: every epoch's
batches derive from (seed, epoch) alone.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from services.n2n.batches import crop_shape, epoch_batches, steps_per_epoch
from services.n2n.checkpoint import (
    ARCHITECTURE,
    CHECKPOINT_NAME,
    CONFIG_FORMAT,
    CONFIG_NAME,
    WEIGHTS_NAME,
    has_checkpoint,
    load_checkpoint,
    save_checkpoint,
    save_weights,
)
from services.n2n.data import N2NTrainingData
from services.n2n.device import autocast, memory_format, pick_device, place, prepare
from services.n2n.model import N2NUNet, input_channels, network_for, parameter_count
from services.n2n.validation import LossFn, input_metrics, validate, validation_set
from shared.atomic import atomic_write_text
from shared.errors import JobError
from shared.manifest import MANIFEST_NAME, ModelManifest, write_manifest
from shared.methods.n2n import N2NConfig
from shared.progress import Progress, ProgressCallback, ignore_progress
from shared.training.resume import resume_state
from shared.training.schedule import cosine_rampdown
from shared.training.state import EpochRecord, TrainingState, validation_summary

PROGRESS_INTERVAL_S = 0.5
"""Step events at most this often (reading the loss syncs the GPU); epoch events always."""

LOSSES: dict[str, LossFn] = {"mse": F.mse_loss, "l1": F.l1_loss}


def train(
    config: N2NConfig,
    data: N2NTrainingData,
    out_dir: Path,
    *,
    progress: ProgressCallback = ignore_progress,
    resume: bool = False,
    device: str | None = None,
) -> ModelManifest:
    """Train the N2N U-Net on `data` into `out_dir`; return the manifest of the kept (best) model."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    steps = steps_per_epoch(data, config)
    crop_shape(data, config)  # refuse an impossible crop before any work
    val = validation_set(data.val, config)  # and refuse Noise2Clean without clean slices
    dev = pick_device(device)
    prepare(dev)
    fingerprint = data.fingerprint()
    torch.manual_seed(config.seed)
    network = network_for(config)
    started_from = None
    if config.start == "prior":
        from services.n2n.prior.start import check_prior_architecture, load_prior_into

        check_prior_architecture(config)
        started_from = load_prior_into(network)
    model = place(network, dev)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps
    )
    if resume:
        checkpoint = load_checkpoint(out_dir, model, optimizer) if has_checkpoint(out_dir) else None
        state = resume_state(checkpoint, config.model_dump(mode="json"), fingerprint, out_dir)
    else:
        clear_model_dir(out_dir)
        state = TrainingState.start(config.model_dump(mode="json"), fingerprint)
    loss_fn = LOSSES[config.loss]
    total_steps = config.epochs * steps
    started = time.monotonic() - state.seconds  # seconds count over every (resumed) run
    for epoch in range(state.epoch, config.epochs):
        last_event = 0.0
        running = torch.zeros((), device=dev)
        model.train()
        for step, (inputs, targets, levels) in enumerate(epoch_batches(data, config, epoch)):
            lr = learning_rate(config, epoch * steps + step, total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x = torch.from_numpy(inputs).to(dev).contiguous(memory_format=memory_format(dev))
            y = torch.from_numpy(targets).to(dev).contiguous(memory_format=memory_format(dev))
            told = torch.from_numpy(levels).to(dev) if config.noise_map else None
            with autocast(dev, config.amp):
                prediction = model(x, told)
            loss = loss_fn(prediction.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += loss.detach()
            now = time.monotonic()
            if now - last_event >= PROGRESS_INTERVAL_S and step + 1 < steps:
                last_event = now
                progress(
                    Progress(
                        stage="training",
                        fraction=(epoch * steps + step + 1) / total_steps,
                        epoch=epoch,
                        epochs=config.epochs,
                        step=step + 1,
                        steps=steps,
                        loss=float(running) / (step + 1),
                        seconds=now - started,
                    )
                )
        train_loss = float(running) / steps
        metrics = validate(model, val, config, loss_fn)
        val_loss = metrics["val_loss"]
        if not (math.isfinite(train_loss) and val_loss is not None and math.isfinite(val_loss)):
            raise JobError(
                f"training diverged at epoch {epoch + 1}: loss {train_loss:g}, validation {val_loss}"
            )
        record = EpochRecord(
            epoch=epoch + 1,
            loss=train_loss,
            lr=lr,
            seconds=time.monotonic() - started,
            **metrics,
        )
        if state.improves(val_loss):
            save_weights(out_dir / WEIGHTS_NAME, model)
        state = state.after_epoch(record)
        save_checkpoint(out_dir, model, optimizer, state)
        progress(
            Progress(
                stage="training",
                fraction=(epoch + 1) / config.epochs,
                epoch=epoch + 1,
                epochs=config.epochs,
                step=steps,
                steps=steps,
                loss=train_loss,
                val_loss=val_loss,
                val_psnr=record.val_psnr,
                val_rmse=record.val_rmse,
                seconds=record.seconds,
            )
        )
    return _finish(out_dir, config, data, state, model, started_from)


def learning_rate(config: N2NConfig, step: int, total_steps: int) -> float:
    """Constant lr, then a cosine ramp-down to zero over the last `rampdown` share of the steps."""
    return cosine_rampdown(config.lr, config.rampdown, step, total_steps)


def clear_model_dir(out_dir: Path) -> None:
    """Remove what an earlier training left, manifest first, so the directory claims no model."""
    for name in (MANIFEST_NAME, CHECKPOINT_NAME, WEIGHTS_NAME, CONFIG_NAME):
        with contextlib.suppress(FileNotFoundError):
            (out_dir / name).unlink()


def model_config_document(config: N2NConfig, parameters: int) -> dict[str, object]:
    """The content of config.json: the architecture and the training config."""
    return {
        "format": CONFIG_FORMAT,
        "architecture": {
            "name": ARCHITECTURE,
            "in_channels": input_channels(config),
            "out_channels": 1,
            "residual": config.residual,
            "noise_map": config.noise_map,
            "parameters": parameters,
        },
        "normalisation": "per volume, robust percentiles to [0, 1] (manifest.json data.normalisation), "
        "mapped back after inference; clean volumes + sigma: their min-max range, on which sigma is defined",
        "config": config.model_dump(mode="json"),
    }


def _finish(
    out_dir: Path,
    config: N2NConfig,
    data: N2NTrainingData,
    state: TrainingState,
    model: N2NUNet,
    started_from: dict[str, object] | None = None,
) -> ModelManifest:
    """Write config.json and, last, the manifest that makes `out_dir` a model directory."""
    document = model_config_document(config, parameter_count(model))
    atomic_write_text(out_dir / CONFIG_NAME, json.dumps(document, indent=2))
    pairs = (
        {
            "noisy": "noisy -> noisy",
            "clean": "noisy -> clean",
        }[config.targets]
        if data.source != "single"
        else "recorrupted scan -> its recorrupted complement (R2R)"
    )
    held_out = (
        "the training slices themselves (too few slices to hold any out)"
        if data.split.mode == "unsplit"
        else "the validation pairs"
    )
    validation = validation_summary(
        state,
        criterion=f"lowest validation loss ({config.loss}) on {held_out}, {pairs}",
        baseline=input_metrics(validation_set(data.val, config)),
    )
    return write_manifest(
        out_dir,
        method="n2n",
        framework=f"torch {torch.__version__}",
        config=config.model_dump(mode="json"),
        data=data.summary() | ({"started_from": started_from} if started_from else {}),
        validation=validation,
        files=[WEIGHTS_NAME, CONFIG_NAME],
    )
