"""The state of a training after each completed epoch: the JSON half of every method's checkpoint.

Both trainers (N2N in PyTorch, N2V in TensorFlow) keep one `TrainingState`, checkpoint it after every epoch
next to their framework's tensors, and summarise it in the model's manifest with `validation_summary`, so a
model of either method reports the same fields.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import JobError


class EpochRecord(BaseModel):
    """One line of a training's history."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    epoch: int = Field(ge=1, description="Epochs completed when this was recorded (1-based).")
    loss: float | None = Field(description="Mean training loss over the epoch's steps.")
    val_loss: float | None = Field(description="Loss on the validation data (the model-selection criterion).")
    val_psnr: float | None = Field(
        default=None, description="Validation PSNR in dB against clean data on the [0, 1] scale, when known."
    )
    val_rmse: float | None = Field(
        default=None, description="Validation RMSE against clean data on the [0, 1] scale, when known."
    )
    lr: float = Field(description="Learning rate of the epoch's last step.")
    seconds: float = Field(ge=0.0, description="Training seconds from the start to the end of this epoch.")


class TrainingState(BaseModel):
    """Where a training stands after its last completed epoch."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    epoch: int = Field(ge=0, description="Epochs completed.")
    seconds: float = Field(ge=0.0, description="Training seconds spent so far, over all (resumed) runs.")
    config: dict[str, Any] = Field(description="The method config the training runs with, as JSON.")
    data_fingerprint: str = Field(description="sha256 of the training and validation data.")
    history: list[EpochRecord] = Field(description="One record per completed epoch.")
    best_epoch: int = Field(ge=0, description="Epoch (1-based) of the kept weights; 0 before the first.")
    best_val_loss: float = Field(description="Validation loss of the kept weights (inf before the first).")
    backend: dict[str, float] = Field(
        default_factory=dict,
        description="Counters the method's framework needs to resume exactly (e.g. n2v's plateau schedule).",
    )

    @classmethod
    def start(cls, config: dict[str, Any], data_fingerprint: str) -> TrainingState:
        """The state before the first epoch."""
        return cls(
            epoch=0,
            seconds=0.0,
            config=config,
            data_fingerprint=data_fingerprint,
            history=[],
            best_epoch=0,
            best_val_loss=math.inf,
        )

    def improves(self, val_loss: float | None) -> bool:
        """Whether weights with this validation loss replace the kept ones (strictly lower, finite)."""
        return val_loss is not None and math.isfinite(val_loss) and val_loss < self.best_val_loss

    def after_epoch(self, record: EpochRecord, **backend: float) -> TrainingState:
        """The state once `record`'s epoch is done; the kept weights move to it when its loss improves."""
        update: dict[str, Any] = {
            "epoch": record.epoch,
            "seconds": record.seconds,
            "history": [*self.history, record],
            "backend": {**self.backend, **backend},
        }
        if self.improves(record.val_loss):
            update |= {"best_epoch": record.epoch, "best_val_loss": record.val_loss}
        return self.model_copy(update=update)


def validation_summary(
    state: TrainingState, *, criterion: str, baseline: dict[str, float | None]
) -> dict[str, Any]:
    """The manifest's `validation`: the kept epoch's metrics, the noisy input's (`baseline`), the history."""
    if state.best_epoch == 0:
        raise JobError("training diverged: the validation loss was never finite; try a lower lr")
    best = state.history[state.best_epoch - 1]
    return {
        "criterion": criterion,
        "best_epoch": state.best_epoch,
        "val_loss": best.val_loss,
        "val_psnr": best.val_psnr,
        "val_rmse": best.val_rmse,
        **baseline,
        "epochs_trained": state.epoch,
        "seconds": round(state.seconds, 3),
        "history": [record.model_dump(mode="json") for record in state.history],
    }
