"""Our Keras callbacks: the one that ends each epoch (metrics, history, checkpoint, progress) and the lr ramp-down."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from services.n2v.checkpoint import save_checkpoint
from services.n2v.data import TrainingData, clean_metrics
from services.n2v.tf_env import tf
from shared.progress import Progress, ProgressCallback
from shared.training.schedule import cosine_rampdown
from shared.training.state import EpochRecord, TrainingState

_PLATEAU_COUNTERS = ("wait", "best", "cooldown_counter")
STEP_EVENT_INTERVAL_S = 0.5
"""Step events at most this often; epoch events always."""
"""ReduceLROnPlateau's attributes that Keras resets at the start of `fit`, kept in TrainingState.backend."""


def _float_or_none(value: Any) -> float | None:
    """A Keras log value as a float, None when the log lacks it."""
    return None if value is None else float(value)


class EpochCallback(tf.keras.callbacks.Callback):
    """Runs after n2v's own callbacks, so the best weights and the learning rate are already updated.

    On a resumed training it puts back the state that Keras callbacks reset at the start of `fit`
    (n2v's ModelCheckpoint best loss, ReduceLROnPlateau's counters).
    """

    def __init__(
        self,
        *,
        out_dir: Path,
        state: TrainingState,
        data: TrainingData,
        val_standardised: np.ndarray,
        mean: float,
        std: float,
        best_weights: Path,
        steps: int,
        epochs: int,
        progress: ProgressCallback,
        siblings: list[Any],
    ) -> None:
        super().__init__()
        self.out_dir, self.state, self.data = out_dir, state, data
        self.val_standardised, self.mean, self.std = val_standardised, mean, std
        self.best_weights, self.steps, self.epochs, self.progress = best_weights, steps, epochs, progress
        self.siblings = siblings
        self._started = time.monotonic()
        self._epoch = state.epoch
        self._last_step_event = -STEP_EVENT_INTERVAL_S

    def _n2v_callbacks(self) -> tuple[Any, Any]:
        """n2v's best-weights ModelCheckpoint and its ReduceLROnPlateau (either may be absent)."""
        best = reduce = None
        for callback in self.siblings:
            if isinstance(callback, tf.keras.callbacks.ModelCheckpoint) and callback.save_best_only:
                best = callback
            if isinstance(callback, tf.keras.callbacks.ReduceLROnPlateau):
                reduce = callback
        return best, reduce

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Restore the resumed callback state; start the clock where the resumed training left it."""
        self._started = time.monotonic() - self.state.seconds
        best, reduce = self._n2v_callbacks()
        if self.state.epoch > 0:
            if best is not None:
                best.best = self.state.best_val_loss
            if reduce is not None and self.state.backend:
                reduce.wait = int(self.state.backend["wait"])
                reduce.best = self.state.backend["best"]
                reduce.cooldown_counter = int(self.state.backend["cooldown_counter"])

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Remember the epoch, for the step events."""
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """A throttled step event, so a long first epoch shows progress (and can be cancelled) too."""
        now = time.monotonic()
        if now - self._last_step_event < STEP_EVENT_INTERVAL_S or batch + 1 >= self.steps:
            return
        self._last_step_event = now
        loss = _float_or_none((logs or {}).get("loss"))
        self.progress(
            Progress(
                stage="training",
                fraction=min(1.0, (self._epoch * self.steps + batch + 1) / (self.epochs * self.steps)),
                epoch=self._epoch,
                epochs=self.epochs,
                step=batch + 1,
                steps=self.steps,
                loss=loss if loss is None or math.isfinite(loss) else None,
                seconds=now - self._started,
            )
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Score, record, checkpoint, report."""
        logs = logs or {}
        val_psnr = val_rmse = None
        if self.data.val_clean is not None:
            standardised = self.model.predict(self.val_standardised, batch_size=16, verbose=0)[..., :1]
            val_psnr, val_rmse = clean_metrics(standardised * self.std + self.mean, self.data)
        record = EpochRecord(
            epoch=epoch + 1,
            loss=_float_or_none(logs.get("loss")),
            val_loss=_float_or_none(logs.get("val_loss")),
            val_psnr=val_psnr,
            val_rmse=val_rmse,
            lr=float(tf.keras.backend.get_value(self.model.optimizer.learning_rate)),
            seconds=time.monotonic() - self._started,
        )
        _, reduce = self._n2v_callbacks()
        counters = {name: float(getattr(reduce, name)) for name in _PLATEAU_COUNTERS} if reduce else {}
        self.state = self.state.after_epoch(record, **counters)
        save_checkpoint(self.out_dir, self.state, self.model, self.best_weights)
        self.progress(
            Progress(
                stage="training",
                fraction=min(1.0, (epoch + 1) / self.epochs),
                epoch=epoch + 1,
                epochs=self.epochs,
                step=self.steps,
                steps=self.steps,
                loss=record.loss,
                val_loss=record.val_loss,
                val_psnr=val_psnr,
                val_rmse=val_rmse,
                seconds=record.seconds,
            )
        )


class RampdownCallback(tf.keras.callbacks.Callback):
    """Sets the learning rate before every step: constant, then a cosine to 0 (shared.training.schedule).

    The step counts from the start of the whole training (epoch x steps + batch), so a resumed
    training continues the schedule where the interrupted one stopped.
    """

    def __init__(self, *, lr: float, rampdown: float, steps: int, epochs: int) -> None:
        super().__init__()
        self.lr, self.rampdown, self.steps, self.epochs = lr, rampdown, steps, epochs
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Remember the epoch, for the global step."""
        self._epoch = epoch

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Set this step's rate."""
        rate = cosine_rampdown(
            self.lr, self.rampdown, self._epoch * self.steps + batch, self.epochs * self.steps
        )
        tf.keras.backend.set_value(self.model.optimizer.learning_rate, rate)
