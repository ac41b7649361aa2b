"""Train a Noise2Void model with n2v on noisy volumes; resumable per epoch.

The loop is n2v 0.3.3's `N2V.train` written out (standardise with the config's mean and std, mask the
validation patches once, N2V_DataWrapper batches, `keras_model.fit`), for three things it cannot do:
start at a later epoch (`initial_epoch`), take our per-epoch checkpoint callback, and augment patches
on the fly. Everything else - the network, the blind-spot masking, the loss, the callbacks that keep
the best weights and lower the learning rate on plateaus - is n2v's own.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from services.n2v.callbacks import EpochCallback, RampdownCallback
from services.n2v.checkpoint import (
    TrainingState,
    clear_training_outputs,
    find_checkpoint,
    read_state,
    restore_checkpoint,
)
from services.n2v.config import N2VConfig
from services.n2v.data import TrainingData, clean_metrics, prepare
from services.n2v.sampler import AugmentingWrapper, make_manipulator
from services.n2v.tf_env import N2V, n2v_utils, quiet, tf, versions
from shared.errors import ConfigError, JobError
from shared.manifest import MANIFEST_NAME, ModelManifest, write_manifest
from shared.progress import ProgressCallback, ignore_progress
from shared.volume import Volume

MODEL_NAME = "n2v"
"""n2v's model folder inside the output directory."""
MODEL_FILES = (f"{MODEL_NAME}/config.json", f"{MODEL_NAME}/weights_best.h5", f"{MODEL_NAME}/weights_last.h5")


def _resumable(out_dir: Path, config: N2VConfig, data: TrainingData) -> tuple[TrainingState, Path] | None:
    """The checkpoint to resume from, if any; refuses one made with another config or other data."""
    ckpt_dir = find_checkpoint(out_dir)
    if ckpt_dir is None:
        return None
    state = read_state(ckpt_dir)
    now = config.model_dump(mode="json")
    changed = sorted(
        k for k in now.keys() | state.config.keys() if k != "epochs" and now.get(k) != state.config.get(k)
    )
    if changed:
        raise ConfigError(
            f"cannot resume the training in {out_dir}: its config differs in {', '.join(changed)} "
            "(only epochs may change); train without resume to start over"
        )
    if state.data_fingerprint != data.fingerprint():
        raise ConfigError(
            f"cannot resume the training in {out_dir}: it was trained on other data; "
            "train without resume to start over"
        )
    return state.model_copy(update={"config": now}), ckpt_dir


def _with_mask_channel(x: np.ndarray) -> np.ndarray:
    """n2v's target layout: the patches, then a channel that marks the blind spots."""
    return np.concatenate((x, np.zeros_like(x)), axis=-1)


def _validation_summary(state: TrainingState, data: TrainingData) -> dict[str, Any]:
    """Validation metrics of the kept (best validation loss) epoch, and the whole history."""
    scored = [r for r in state.history if r["val_loss"] is not None and math.isfinite(r["val_loss"])]
    if not scored:
        raise JobError("training diverged: the validation loss was never finite; try a lower lr")
    best = min(scored, key=lambda r: r["val_loss"])
    summary: dict[str, Any] = {
        "best_epoch": best["epoch"],
        "val_loss": best["val_loss"],
        "val_psnr": best["val_psnr"],
        "val_rmse": best["val_rmse"],
        "epochs_trained": state.epoch,
        "seconds": round(state.seconds, 3),
        "history": state.history,
    }
    if data.val_clean is not None:
        summary["input_psnr"], summary["input_rmse"] = clean_metrics(data.val, data)
        summary["metric_scope"] = (
            "validation patches; squared error pooled over all of them; on the clean volume's [0, 1] scale"
        )
    return summary


def train(
    config: N2VConfig,
    noisy: list[Volume],
    out_dir: Path,
    *,
    clean: list[Volume] | None = None,
    progress: ProgressCallback = ignore_progress,
    resume: bool = False,
    data_info: dict[str, Any] | None = None,
) -> ModelManifest:
    """Train on `noisy` (self-supervised) into `out_dir`; `clean` only adds validation PSNR / RMSE.

    `out_dir` gets n2v's folder (n2v/config.json, weights_best.h5, weights_last.h5), our checkpoint
    (checkpoint/) and, last, manifest.json. With `resume`, a checkpoint left there by the same config
    and data is continued (only `epochs` may differ); without one, training starts afresh.
    `data_info` (e.g. the synthetic sigma) is recorded in the manifest's data summary.
    """
    out_dir = Path(out_dir)
    data = prepare(config, noisy, clean)
    found = _resumable(out_dir, config, data) if resume else None
    ckpt_dir: Path | None = None
    if found is None:
        clear_training_outputs(out_dir, (MODEL_NAME, MANIFEST_NAME))
        state = TrainingState(
            epoch=0,
            seconds=0.0,
            config=config.model_dump(mode="json"),
            data_fingerprint=data.fingerprint(),
            history=[],
            best_val_loss=math.inf,
            reduce_lr={},
        )
    else:
        state, ckpt_dir = found
    out_dir.mkdir(parents=True, exist_ok=True)

    tf.keras.utils.set_random_seed(config.seed)  # same initial weights and validation masks on resume
    backend = config.to_n2v_config(data.train)
    with quiet(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="output path for model already exists")  # resuming
        model = N2V(backend, name=MODEL_NAME, basedir=str(out_dir))
        model.prepare_for_training()
    # n2v standardises in float32 with the strings it stores; do exactly the same.
    mean, std = np.float32(backend.means[0]), np.float32(backend.stds[0])
    train_x = (data.train - mean) / std
    val_plain = (data.val - mean) / std
    val_x, val_y = val_plain.copy(), _with_mask_channel(val_plain)
    manipulator = make_manipulator(config)
    with quiet():
        n2v_utils.manipulate_val_data(
            val_x,
            val_y,
            perc_pix=config.n2v_perc_pix,
            shape=val_x.shape[1:-1],
            value_manipulation=manipulator,
        )
    best_weights = Path(model.logdir) / "weights_best.h5"
    if ckpt_dir is not None:
        restore_checkpoint(ckpt_dir, model.keras_model, best_weights)
    np.random.seed([config.seed, state.epoch])  # a fresh, reproducible sampling stream per (re)start

    steps = config.resolved_steps(len(train_x))
    mask = config.backend_mask()
    with quiet():
        batches = AugmentingWrapper(
            train_x,
            _with_mask_channel(train_x),
            batch_size=config.batch_size,
            length=steps * config.epochs,
            perc_pix=config.n2v_perc_pix,
            shape=config.patch_shape(),
            value_manipulation=manipulator,
            structN2Vmask=None if mask is None else np.array(mask),
            augment=config.augment,
        )
    recorder = EpochCallback(
        out_dir=out_dir,
        state=state,
        data=data,
        val_standardised=val_plain,
        mean=float(mean),
        std=float(std),
        best_weights=best_weights,
        steps=steps,
        epochs=config.epochs,
        progress=progress,
        siblings=model.callbacks,
    )
    schedule = (
        [RampdownCallback(lr=config.lr, rampdown=config.rampdown, steps=steps, epochs=config.epochs)]
        if config.rampdown > 0
        else []
    )
    model.keras_model.fit(
        iter(batches),
        validation_data=(val_x, val_y),
        epochs=config.epochs,
        initial_epoch=min(state.epoch, config.epochs),
        steps_per_epoch=steps,
        callbacks=[*schedule, *model.callbacks, recorder],
        verbose=0,
    )
    state = recorder.state
    if state.history and not math.isfinite(state.history[-1]["loss"] or math.nan):
        raise JobError(f"training diverged: the loss became NaN at epoch {state.epoch}; try a lower lr")

    model.keras_model.save_weights(str(Path(model.logdir) / "weights_last.h5"))
    if not best_weights.is_file():
        raise JobError("training kept no best weights (the validation loss was never finite)")
    model.keras_model.load_weights(str(best_weights))
    (Path(model.logdir) / "weights_now.h5").unlink(missing_ok=True)

    summary = {**data.summary, "steps_per_epoch": steps, **(data_info or {})}
    return write_manifest(
        out_dir,
        method="n2v",
        framework=versions(),
        config=config.model_dump(mode="json"),
        data=summary,
        validation=_validation_summary(state, data),
        files=list(MODEL_FILES),
    )
