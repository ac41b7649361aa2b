"""The per-epoch resumable checkpoint that n2v lacks: weights, optimiser state, epoch, callback state.

`out_dir/checkpoint/` is replaced whole after every epoch (shared.atomic), so a training killed at any
moment leaves either the previous epoch's checkpoint or the new one, never a mix. It holds a TensorFlow
checkpoint of the Keras model and its Adam optimiser (moments, step count, learning rate), a copy of
n2v's weights_best.h5 as it stood at that epoch (Keras writes the original in place, so a kill can
truncate it), and state.json. Nothing in it is unpickled: TF checkpoints and HDF5 hold tensors only.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pydantic import ValidationError

from services.n2v.tf_env import tf
from shared.atomic import atomic_directory
from shared.errors import InvalidModelError
from shared.training.state import TrainingState

CHECKPOINT_DIR = "checkpoint"
STATE_NAME = "state.json"
_PREFIX = "ckpt"
_BEST_COPY = "weights_best.h5"


def find_checkpoint(out_dir: Path) -> Path | None:
    """The checkpoint directory, or the previous one if a kill interrupted its replacement."""
    for candidate in (out_dir / CHECKPOINT_DIR, out_dir / f".{CHECKPOINT_DIR}.old"):
        if (candidate / STATE_NAME).is_file():
            return candidate
    return None


def has_checkpoint(out_dir: Path) -> bool:
    """Whether `out_dir` holds a checkpoint that `train(..., resume=True)` can continue from."""
    return find_checkpoint(Path(out_dir)) is not None


def read_state(ckpt_dir: Path) -> TrainingState:
    """Load a checkpoint's state.json."""
    try:
        return TrainingState.model_validate(json.loads((ckpt_dir / STATE_NAME).read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise InvalidModelError(
            f"{ckpt_dir}: unreadable training checkpoint ({exc.__class__.__name__}); "
            "train again without resume"
        ) from exc


def save_checkpoint(out_dir: Path, state: TrainingState, model: tf.keras.Model, best_weights: Path) -> None:
    """Write the model, its optimiser, the current best weights and `state` as one atomic checkpoint."""
    with atomic_directory(out_dir / CHECKPOINT_DIR) as tmp:
        tf.train.Checkpoint(model=model, optimizer=model.optimizer).write(str(tmp / _PREFIX))
        if best_weights.is_file():
            shutil.copy2(best_weights, tmp / _BEST_COPY)
        (tmp / STATE_NAME).write_text(state.model_dump_json(), encoding="utf-8")


def restore_checkpoint(ckpt_dir: Path, model: tf.keras.Model, best_weights: Path) -> None:
    """Load weights and optimiser state into a compiled `model`; put the saved best weights back."""
    model.optimizer.build(model.trainable_variables)  # slots must exist to receive their values
    try:
        tf.train.Checkpoint(model=model, optimizer=model.optimizer).read(
            str(ckpt_dir / _PREFIX)
        ).assert_consumed()
    except (tf.errors.OpError, AssertionError, ValueError) as exc:
        raise InvalidModelError(
            f"{ckpt_dir}: the checkpoint does not fit this model ({exc.__class__.__name__}); "
            "train again without resume"
        ) from exc
    if (ckpt_dir / _BEST_COPY).is_file():
        shutil.copy2(ckpt_dir / _BEST_COPY, best_weights)


def clear_training_outputs(out_dir: Path, names: tuple[str, ...]) -> None:
    """Remove what an earlier training left in `out_dir` (only our own names), for a fresh start."""
    for name in (*names, CHECKPOINT_DIR, f".{CHECKPOINT_DIR}.old"):
        path = out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for stale in out_dir.glob(f".{CHECKPOINT_DIR}.*.tmp"):  # left by a kill mid-write
        shutil.rmtree(stale, ignore_errors=True)
