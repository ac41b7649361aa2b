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

from services.n2v.backend import backend_config, backend_mask
from services.n2v.callbacks import EpochCallback, RampdownCallback
from services.n2v.checkpoint import clear_training_outputs, find_checkpoint, read_state, restore_checkpoint
from services.n2v.data import TrainingData, clean_metrics, prepare
from services.n2v.sampler import AugmentingWrapper, make_manipulator
from services.n2v.tf_env import N2V, n2v_utils, quiet, tf, versions
from shared.errors import JobError
from shared.manifest import MANIFEST_NAME, ModelManifest, write_manifest
from shared.methods.n2v import N2VConfig
from shared.progress import Progress, ProgressCallback, ignore_progress
from shared.training.resume import resume_state
from shared.training.state import TrainingState, validation_summary
from shared.volume import Volume

MODEL_NAME = "n2v"
"""n2v's model folder inside the output directory."""
MODEL_FILES = (f"{MODEL_NAME}/config.json", f"{MODEL_NAME}/weights_best.h5", f"{MODEL_NAME}/weights_last.h5")


def _with_mask_channel(x: np.ndarray) -> np.ndarray:
    """n2v's target layout: the patches, then a channel that marks the blind spots."""
    return np.concatenate((x, np.zeros_like(x)), axis=-1)


def _baseline(data: TrainingData) -> dict[str, Any]:
    """PSNR and RMSE of the noisy validation patches themselves, when clean ones are known."""
    if data.val_clean is None:
        return {"input_psnr": None, "input_rmse": None}
    psnr, rmse = clean_metrics(data.val, data)
    return {
        "input_psnr": psnr,
        "input_rmse": rmse,
        "metric_scope": "validation patches; squared error pooled over all of them; on the clean volume's "
        "[0, 1] scale",
    }


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
    (checkpoint/) and, last, manifest.json. With `resume`, the checkpoint left there is continued under
    the one resume rule of shared/training/resume.py (no checkpoint is an error; only `epochs` may change).
    `data_info` (e.g. the synthetic sigma) is recorded in the manifest's data summary.
    """
    out_dir = Path(out_dir)
    progress(Progress(stage="loading", fraction=0.0))
    data = prepare(config, noisy, clean)
    progress(Progress(stage="loading", fraction=0.5))  # patches ready; the network is built next
    ckpt_dir = find_checkpoint(out_dir) if resume else None
    if resume:
        checkpoint = read_state(ckpt_dir) if ckpt_dir is not None else None
        state = resume_state(checkpoint, config.model_dump(mode="json"), data.fingerprint(), out_dir)
    else:
        clear_training_outputs(out_dir, (MODEL_NAME, MANIFEST_NAME))
        state = TrainingState.start(config.model_dump(mode="json"), data.fingerprint())
    out_dir.mkdir(parents=True, exist_ok=True)

    tf.keras.utils.set_random_seed(config.seed)  # same initial weights and validation masks on resume
    backend = backend_config(config, data.train)
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
    mask = backend_mask(config)
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
    if state.history and not math.isfinite(state.history[-1].loss or math.nan):
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
        validation=validation_summary(
            state,
            criterion="lowest validation loss on the blind spots of the validation patches",
            baseline=_baseline(data),
        ),
        files=list(MODEL_FILES),
    )
