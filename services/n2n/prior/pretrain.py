"""Pretraining the prior: the N2N U-Net, told the noise level, supervised on generated heads.

The network is the reference U-Net with 2.5D context (two slices either side) and a residual output, plus
the noise-level map channel; it learns noisy -> clean on crops of the generated set (pool.py) under every
corruption of corruption.py. The run checkpoints after every epoch with the project's one resume rule and
writes an ordinary N2N model directory (weights, config, manifest), so every path that loads a model loads
the prior; its manifest lists the generator, the seeds and the sha256 of every volume it saw.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

from services.n2n.checkpoint import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    has_checkpoint,
    load_checkpoint,
    load_weights,
    save_checkpoint,
    save_weights,
)
from services.n2n.device import autocast, pick_device, place, prepare
from services.n2n.model import N2NUNet, network_for, parameter_count
from services.n2n.prior.corruption import TOLD_SHARE, TOLD_SPREAD
from services.n2n.prior.pool import (
    VALIDATION_OFFSET,
    PoolVolume,
    default_cache,
    load_pool,
    pool_fingerprint,
    training_batches,
    validation_crops,
)
from services.n2n.prior.start import ARCHITECTURE_FIELDS
from services.n2n.prior.synthetic import GENERATOR_VERSION, SHAPE
from services.n2n.train import clear_model_dir, model_config_document
from shared.atomic import atomic_write_text
from shared.errors import ConfigError, JobError
from shared.manifest import ModelManifest, read_manifest, write_manifest
from shared.methods.n2n import N2NConfig
from shared.metrics import psnr_from_mse
from shared.training.resume import resume_state
from shared.training.schedule import cosine_rampdown
from shared.training.state import EpochRecord, TrainingState, validation_summary

PRIOR_NORMALISATION = {"kind": "percentiles", "low_percentile": 0.5, "high_percentile": 99.9}
"""The normalisation the prior was trained under: the project's robust mapping, recorded in its manifest."""


class PretrainConfig(BaseModel):
    """What a pretraining run does; the defaults are the shipped prior's (65 minutes on 2 CPU cores, 5 of them generating the heads)."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(default=0, ge=0, description="Seed of the generated heads, crops, noise and weights.")
    train_volumes: int = Field(default=120, ge=1, le=100_000, description="Generated heads to train on.")
    val_volumes: int = Field(default=6, ge=1, le=1_000, description="Other generated heads to validate on.")
    epochs: int = Field(default=20, ge=1, le=10_000)
    steps_per_epoch: int = Field(default=300, ge=1, le=1_000_000)
    batch_size: int = Field(default=8, ge=1, le=1024)
    crop_size: int = Field(default=64, ge=32, le=128, multiple_of=32, description="At most a head's side.")
    context: int = Field(default=2, ge=0, le=4, description="Slices either side given as channels (2.5D).")
    lr: float = Field(default=5e-4, gt=0.0, le=1.0)
    rampdown: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Final share with a cosine lr ramp-down."
    )
    val_per_level: int = Field(default=24, ge=1, le=10_000, description="Validation crops per noise level.")
    val_crop: int = Field(default=96, ge=32, le=128, multiple_of=32)
    told_share: float = Field(
        default=TOLD_SHARE, ge=0.0, le=1.0, description="Share of crops told a jittered noise level."
    )
    told_spread: float = Field(
        default=TOLD_SPREAD,
        ge=0.0,
        le=2.0,
        description="Spread of the log of the told level's jitter factor.",
    )
    start_from: str | None = Field(
        default=None,
        description="A model directory (a prior) whose weights the run starts from instead of He "
        "initialisation; its weights' sha256 is recorded in the manifest.",
    )

    def network_config(self) -> N2NConfig:
        """The N2N config recorded with the prior: what inference and fine-tuning read back."""
        return N2NConfig(
            epochs=self.epochs,
            steps_per_epoch=self.steps_per_epoch,
            batch_size=self.batch_size,
            crop_size=self.crop_size,
            lr=self.lr,
            rampdown=self.rampdown,
            context=self.context,
            residual=True,
            noise_map=True,
            targets="clean",
            augment=True,
            seed=self.seed,
        )


def pretrain(
    config: PretrainConfig,
    out_dir: Path,
    *,
    resume: bool = False,
    cache: Path | None = None,
    workers: int = 1,
    log: Callable[[str], None] = print,
    command: str | None = None,
    device: str | None = None,
) -> ModelManifest:
    """Pretrain into `out_dir` (a model directory when done); `resume` continues its checkpoint. On CUDA when
    present (or `device`), else the CPU."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = cache or default_cache()
    network_config = config.network_config()
    started_generation = time.monotonic()
    train = load_pool(config.seed, list(range(config.train_volumes)), cache, workers)
    val = load_pool(
        config.seed, list(range(VALIDATION_OFFSET, VALIDATION_OFFSET + config.val_volumes)), cache, workers
    )
    log(
        f"{len(train)} training and {len(val)} validation heads ready in {time.monotonic() - started_generation:.0f} s"
    )
    fingerprint = pool_fingerprint(train + val)
    val_crops = validation_crops(
        val, context=config.context, crop=config.val_crop, per_level=config.val_per_level, seed=config.seed
    )
    torch.manual_seed(config.seed)
    dev = pick_device(device)
    prepare(dev)
    network = network_for(network_config)
    started_from = (
        None if config.start_from is None else _start_from(Path(config.start_from), network, network_config)
    )
    model = place(network, dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.99), eps=1e-8)
    state_config = config.model_dump(mode="json")
    if resume:
        checkpoint = load_checkpoint(out_dir, model, optimizer) if has_checkpoint(out_dir) else None
        state = resume_state(checkpoint, state_config, fingerprint, out_dir)
    else:
        clear_model_dir(out_dir)  # what an earlier training left, manifest first
        state = TrainingState.start(state_config, fingerprint)
    total_steps = config.epochs * config.steps_per_epoch
    started = time.monotonic() - state.seconds
    lr = config.lr
    for epoch in range(state.epoch, config.epochs):
        model.train()
        running = 0.0
        batches = training_batches(
            train,
            context=config.context,
            crop=config.crop_size,
            batch_size=config.batch_size,
            steps=config.steps_per_epoch,
            seed=config.seed,
            epoch=epoch,
            told_share=config.told_share,
            told_spread=config.told_spread,
        )
        for step, (inputs, targets, levels) in enumerate(batches):
            lr = cosine_rampdown(
                config.lr, config.rampdown, epoch * config.steps_per_epoch + step, total_steps
            )
            for group in optimizer.param_groups:
                group["lr"] = lr
            with autocast(dev, network_config.amp):
                prediction = model(torch.from_numpy(inputs).to(dev), torch.from_numpy(levels).to(dev))
            loss = F.mse_loss(prediction.float(), torch.from_numpy(targets).to(dev))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += float(loss.detach())
        train_loss = running / config.steps_per_epoch
        per_level = validate(model, val_crops, dev)
        val_loss = float(np.mean([mse for mse, _ in per_level.values()]))
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            raise JobError(f"pretraining diverged at epoch {epoch + 1}: loss {train_loss:g}")
        record = EpochRecord(
            epoch=epoch + 1,
            loss=train_loss,
            val_loss=val_loss,
            val_psnr=psnr_from_mse(val_loss, 1.0),
            val_rmse=math.sqrt(val_loss),
            lr=lr,
            seconds=time.monotonic() - started,
        )
        if state.improves(val_loss):
            save_weights(out_dir / WEIGHTS_NAME, model)
        state = state.after_epoch(record)
        save_checkpoint(out_dir, model, optimizer, state)
        summary = ", ".join(f"sigma {s:g}: {psnr:.2f}" for s, (_, psnr) in per_level.items())
        log(
            f"epoch {epoch + 1}/{config.epochs} loss {train_loss:.3g} val PSNR dB {summary} ({record.seconds:.0f} s)"
        )
    return _finish(out_dir, config, network_config, state, model, train, val, command, started_from)


def _start_from(source: Path, network: N2NUNet, network_config: N2NConfig) -> dict[str, str]:
    """Load a model directory's weights into `network` (same architecture only); what the manifest records."""
    manifest = read_manifest(source, "n2n")
    theirs = N2NConfig.model_validate(manifest.config)
    different = [
        f"{name} {getattr(theirs, name)!r} (this run's: {getattr(network_config, name)!r})"
        for name in ARCHITECTURE_FIELDS
        if getattr(theirs, name) != getattr(network_config, name)
    ]
    if different:
        raise ConfigError(f"start_from {source}: its network differs in " + ", ".join(different))
    load_weights(source / WEIGHTS_NAME, network)
    return {"model_dir": str(source), "weights_sha256": manifest.files[WEIGHTS_NAME]}


def validate(
    model: N2NUNet, crops: dict[float, tuple[np.ndarray, np.ndarray]], device: torch.device | None = None
) -> dict[float, tuple[float, float]]:
    """{sigma: (MSE, PSNR dB)} of the network on the fixed validation crops of each level."""
    model.eval()
    out = {}
    with torch.inference_mode():
        for sigma, (inputs, targets) in crops.items():
            errors = []
            for start in range(0, len(inputs), 16):
                batch = torch.from_numpy(inputs[start : start + 16]).to(device)
                prediction = (
                    model(batch, torch.full((len(batch),), sigma / 255.0, device=device)).float().cpu()
                )
                errors.append(
                    float(
                        F.mse_loss(prediction, torch.from_numpy(targets[start : start + 16]), reduction="sum")
                    )
                )
            mse = sum(errors) / targets.size
            out[sigma] = (mse, psnr_from_mse(mse, 1.0))
    model.train()
    return out


def _finish(
    out_dir: Path,
    config: PretrainConfig,
    network_config: N2NConfig,
    state: TrainingState,
    model: N2NUNet,
    train: list[PoolVolume],
    val: list[PoolVolume],
    command: str | None,
    started_from: dict[str, str] | None = None,
) -> ModelManifest:
    """Write config.json and the manifest: what was generated, how, and from which command and commit."""
    document = model_config_document(network_config, parameter_count(model))
    atomic_write_text(out_dir / CONFIG_NAME, json.dumps(document, indent=2))
    data = {
        "source": "synthetic",
        "description": "procedurally generated heads (services/n2n/prior/synthetic.py): random smooth label "
        "maps through TorchIO's RandomLabelsToImage, RandomBlur, RandomBiasField, RandomAnisotropy; "
        "thick-slice stacks; no scan of anyone and nothing made from the MNI152 templates",
        "generator": GENERATOR_VERSION,
        "shape": list(SHAPE),
        "seed": config.seed,
        "train_volumes": len(train),
        "val_volumes": len(val),
        "train_sha256": [volume.sha256 for volume in train],
        "val_sha256": [volume.sha256 for volume in val],
        "normalisation": PRIOR_NORMALISATION,
        "noise": "Gaussian and Rician, sigma 0-45 on the 0-255 scale; some correlated, non-stationary, "
        "masked background; the told level jittered (services/n2n/prior/corruption.py)",
        "pretraining": config.model_dump(mode="json"),
        "started_from": started_from,
        "command": command,
        "commit": _commit(),
    }
    validation = validation_summary(
        state,
        criterion="lowest mean validation MSE over sigma 5, 10, 20, 40 on held-out generated heads, noisy -> clean",
        baseline={},
    )
    return write_manifest(
        out_dir,
        method="n2n",
        framework=f"torch {torch.__version__}",
        config=network_config.model_dump(mode="json"),
        data=data,
        validation=validation,
        files=[WEIGHTS_NAME, CONFIG_NAME],
    )


def _commit() -> str | None:
    """The git commit the code ran from, when it runs from a checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip() or None
